import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { RUN_ID, e2eTest } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-charts', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-charts sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

type AnyChart = { type: string; title: string | null; elements: any[]; [key: string]: any };

/** Runs plotting code and returns the one chart among its results (the figure also carries a PNG). */
async function chartOf(code: string): Promise<AnyChart> {
  const execution = assertNoError(await runCode(sbx, `import matplotlib.pyplot as plt\n${code}\nplt.show()`, {}, 120_000));
  const withChart = execution.results.filter((r) => r.chart);
  assert.equal(withChart.length, 1, `expected one chart: ${describeExecution(execution)}`);
  const result = withChart[0]!;
  assert.equal(result.isMainResult, false);
  assert.ok(result.png, 'a chart result also carries the PNG of the figure');
  return result.chart as unknown as AnyChart;
}

const near = (actual: number, expected: number, label: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6 * Math.max(1, Math.abs(expected)), `${label}: ${actual} != ${expected}`);

describe('charts', () => {
  test('line chart: type, title, labels, units, scale and the points of each line', 180_000, async () => {
    const chart = await chartOf(
      [
        'plt.figure()',
        'plt.plot([1, 2, 3, 4], [10, 20, 25, 30], label="growth")',
        'plt.plot([1, 2, 3, 4], [5, 5, 5, 5], label="flat")',
        'plt.xlabel("Time (s)")',
        'plt.ylabel("Mass [kg]")',
        'plt.title("Line chart")',
        'plt.legend()',
      ].join('\n'),
    );
    assert.equal(chart.type, 'line');
    assert.equal(chart.title, 'Line chart');
    assert.equal(chart['x_label'], 'Time (s)');
    assert.equal(chart['y_label'], 'Mass [kg]');
    assert.equal(chart['x_unit'], 's');
    assert.equal(chart['y_unit'], 'kg');
    assert.equal(chart['x_scale'], 'linear');
    assert.equal(chart['y_scale'], 'linear');
    assert.ok(Array.isArray(chart['x_ticks']) && chart['x_ticks'].length > 0);
    assert.ok(Array.isArray(chart['x_tick_labels']) && chart['x_tick_labels'].every((l: unknown) => typeof l === 'string'));
    assert.deepEqual(chart.elements.map((e) => e.label), ['growth', 'flat']);
    assert.deepEqual(chart.elements[0].points, [[1, 10], [2, 20], [3, 25], [4, 30]]);
    assert.deepEqual(chart.elements[1].points, [[1, 5], [2, 5], [3, 5], [4, 5]]);
  });

  test('scatter chart: one element per series with its label and points', 180_000, async () => {
    const chart = await chartOf(
      [
        'plt.figure()',
        'plt.scatter([1, 2, 3], [4, 5, 6], label="A")',
        'plt.scatter([1.5, 2.5], [1, 2], label="B")',
        'plt.xlabel("X")',
        'plt.ylabel("Y")',
        'plt.title("Scatter chart")',
      ].join('\n'),
    );
    assert.equal(chart.type, 'scatter');
    assert.equal(chart.title, 'Scatter chart');
    assert.equal(chart['x_label'], 'X');
    assert.equal(chart['x_unit'], null);
    assert.deepEqual(chart.elements.map((e) => e.label), ['A', 'B']);
    assert.deepEqual(chart.elements[0].points, [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(chart.elements[1].points, [[1.5, 1], [2.5, 2]]);
  });

  test('bar chart: one element per bar with label, value and group', 180_000, async () => {
    const chart = await chartOf(
      [
        'plt.figure(figsize=(10, 6))',
        'plt.bar(["Author A", "Author B", "Author C", "Author D"], [100, 200, 300, 400], label="sales")',
        'plt.xlabel("Authors")',
        'plt.ylabel("Number of Books Sold")',
        'plt.title("Book Sales by Authors")',
      ].join('\n'),
    );
    assert.equal(chart.type, 'bar');
    assert.equal(chart.title, 'Book Sales by Authors');
    assert.equal(chart['x_label'], 'Authors');
    assert.equal(chart['y_label'], 'Number of Books Sold');
    assert.equal(chart['x_unit'], null);
    assert.equal(chart['y_unit'], null);
    assert.deepEqual(chart.elements.map((e) => e.label), ['Author A', 'Author B', 'Author C', 'Author D']);
    assert.deepEqual(chart.elements.map((e) => Number(e.value)), [100, 200, 300, 400]);
    assert.deepEqual(chart.elements.map((e) => e.group), ['sales', 'sales', 'sales', 'sales']);
  });

  test('pie chart: one element per wedge with label, angle and radius', 180_000, async () => {
    const chart = await chartOf(['plt.figure()', 'plt.pie([30, 70], labels=["cats", "dogs"])', 'plt.title("Pets")'].join('\n'));
    assert.equal(chart.type, 'pie');
    assert.equal(chart.title, 'Pets');
    assert.deepEqual(chart.elements.map((e) => e.label), ['cats', 'dogs']);
    near(chart.elements[0].angle, 108, 'cats angle');
    near(chart.elements[1].angle, 252, 'dogs angle');
    near(chart.elements[0].radius, 1, 'cats radius');
    near(chart.elements[1].radius, 1, 'dogs radius');
  });

  test('box and whisker chart: quartiles, whiskers and outliers of each box', 180_000, async () => {
    const chart = await chartOf(
      [
        'data = {"Class A": [85, 90, 78, 92, 88], "Class B": [95, 89, 76, 91, 84, 87], "Class C": [75, 82, 88, 79, 86]}',
        'fig, ax = plt.subplots(figsize=(10, 6))',
        'ax.set_title("Exam Scores Distribution")',
        'ax.set_xlabel("Class")',
        'ax.set_ylabel("Score")',
        'ax.boxplot(list(data.values()), patch_artist=True)',
        'ax.set_xticks([1, 2, 3], list(data.keys()))',
      ].join('\n'),
    );
    assert.equal(chart.type, 'box_and_whisker');
    assert.equal(chart.title, 'Exam Scores Distribution');
    assert.equal(chart['x_label'], 'Class');
    assert.equal(chart['y_label'], 'Score');
    assert.equal(chart['x_unit'], null);
    const boxes = chart.elements;
    assert.deepEqual(boxes.map((b) => b.label), ['Class A', 'Class B', 'Class C']);
    assert.deepEqual(boxes.map((b) => b.outliers), [[], [76], []]);
    assert.deepEqual(boxes.map((b) => b.min), [78, 84, 75]);
    assert.deepEqual(boxes.map((b) => b.first_quartile), [85, 84.75, 79]);
    assert.deepEqual(boxes.map((b) => b.median), [88, 88, 82]);
    assert.deepEqual(boxes.map((b) => b.third_quartile), [90, 90.5, 86]);
    assert.deepEqual(boxes.map((b) => b.max), [92, 95, 88]);
  });

  test('a default box plot (no patch_artist: boxes drawn as lines) is a box and whisker chart, not a line chart', 180_000, async () => {
    const chart = await chartOf(
      [
        'fig, ax = plt.subplots()',
        'ax.set_title("Default boxes")',
        'ax.boxplot([[85, 90, 78, 92, 88], [95, 89, 76, 91, 84, 87]], tick_labels=["A", "B"])',
      ].join('\n'),
    );
    assert.equal(chart.type, 'box_and_whisker');
    assert.equal(chart.title, 'Default boxes');
    assert.deepEqual(
      chart.elements.map((b) => [b.label, b.min, b.first_quartile, b.median, b.third_quartile, b.max, b.outliers]),
      [
        ['A', 78, 85, 88, 90, 92, []],
        ['B', 84, 84.75, 88, 90.5, 95, [76]],
      ],
    );
  });

  test('a figure with several axes is a superchart whose elements are the charts of each axes', 180_000, async () => {
    const chart = await chartOf(
      [
        'fig, (ax1, ax2) = plt.subplots(1, 2)',
        'fig.suptitle("Super chart")',
        'ax1.plot([1, 2, 3], [1, 4, 9])',
        'ax1.set_title("Squares")',
        'ax2.bar(["a", "b"], [3, 5])',
        'ax2.set_title("Bars")',
      ].join('\n'),
    );
    assert.equal(chart.type, 'superchart');
    assert.equal(chart.title, 'Super chart');
    assert.equal(chart.elements.length, 2);
    assert.deepEqual(chart.elements.map((c) => c.type), ['line', 'bar']);
    assert.deepEqual(chart.elements.map((c) => c.title), ['Squares', 'Bars']);
    assert.deepEqual(chart.elements[0].elements[0].points, [[1, 1], [2, 4], [3, 9]]);
    assert.deepEqual(chart.elements[1].elements.map((e: { value: unknown }) => Number(e.value)), [3, 5]);
  });

  test('an empty figure produces no chart', 180_000, async () => {
    const execution = assertNoError(await runCode(sbx, 'import matplotlib.pyplot as plt\nfig = plt.figure()\nplt.show()', {}, 120_000));
    assert.ok(!execution.results.some((r) => r.chart), describeExecution(execution));
  });

  test('without plt.show() the figure comes first, before the value of the last expression', 180_000, async () => {
    const lines: string[] = [];
    const execution = assertNoError(
      await runCode(
        sbx,
        'import matplotlib.pyplot as plt\nfor i in range(3): print(i)\nplt.bar(["a","b"], [3, 5]); plt.title("t")',
        { onStdout: (m: { line: string }) => void lines.push(m.line) },
        120_000,
      ),
    );
    assert.equal(lines.join(''), '0\n1\n2\n', 'the printed lines stream before the end');
    const first = execution.results[0];
    assert.ok(first?.png, `results[0] is the figure: ${describeExecution(execution)}`);
    assert.equal(first.chart?.type, 'bar');
    assert.deepEqual(
      (first.chart?.elements as Array<{ label: string; value: number }>).map((e) => [e.label, e.value]),
      [['a', 3], ['b', 5]],
    );
    assert.equal(execution.text, "Text(0.5, 1.0, 't')", 'the main result is still reported');
  });

  const pilImage = ['import numpy', 'from PIL import Image', 'image = Image.fromarray((numpy.random.rand(16, 16, 3) * 255).astype("uint8")).convert("RGBA")'];
  const pngOf = (execution: Awaited<ReturnType<typeof runCode>>): Buffer => {
    const png = execution.results.find((r) => r.png)?.png;
    assert.ok(png, `a PNG result: ${describeExecution(execution)}`);
    return Buffer.from(png, 'base64');
  };
  const isPng16 = (png: Buffer): void => {
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [16, 16], 'the 16x16 image itself');
  };

  test('a PIL image a cell saves to a file is shown as a PNG result, and the file is written', 180_000, async () => {
    const execution = assertNoError(await runCode(sbx, [...pilImage, 'image.save("/tmp/saved-by-cell.png")', 'print("saved")'].join('\n'), {}, 120_000));
    isPng16(pngOf(execution));
    assert.deepEqual(execution.logs.stdout, ['saved\n']);
    const written = await sbx.files.read('/tmp/saved-by-cell.png', { format: 'bytes' });
    isPng16(Buffer.from(written));
  });

  test('image.show() displays the image in the cell (no desktop viewer needed) exactly once', 180_000, async () => {
    const execution = assertNoError(await runCode(sbx, [...pilImage, 'image.show()', 'print("done")'].join('\n'), {}, 120_000));
    assert.equal(execution.results.filter((r) => r.png).length, 1, describeExecution(execution));
    isPng16(pngOf(execution));
    assert.deepEqual(execution.logs.stdout, ['done\n']);
  });

  test('a PIL image as the last expression is the main result, as a PNG', 180_000, async () => {
    const execution = assertNoError(await runCode(sbx, [...pilImage, 'image'].join('\n'), {}, 120_000));
    const main = execution.results.find((r) => r.isMainResult);
    assert.ok(main?.png, describeExecution(execution));
    isPng16(Buffer.from(main.png, 'base64'));
  });

  test("the chart extractor's own Python unit tests pass inside the sandbox", 300_000, async () => {
    const result = await sbx.commands.run(
      'cd /opt/sandboxd/packages/agent/python && PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s tests -t . 2>&1',
      { timeoutMs: 240_000 },
    );
    assert.match(result.stdout, /\nOK\b/, result.stdout);
  });
});
