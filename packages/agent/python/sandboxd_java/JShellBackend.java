import java.io.ByteArrayOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Collectors;

import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.ExpressionSnippet;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

/**
 * The Java side of sandboxd's Java kernel (sandboxd_java/kernel.py): evaluates cells with JShell
 * (snippets run in a separate JVM that JShell launches), one request per stdin line, one event per
 * stdout line. Every payload is base64 (UTF-8), so no escaping is needed on either side.
 *
 * <pre>
 * in:  EXEC b64(code) | STOP (interrupts the running cell)
 * out: READY | OUT stdout|stderr b64(bytes) | VALUE b64(text) | ERROR b64(name) b64(value) b64(traceback) | DONE
 * </pre>
 */
public final class JShellBackend {
    private static final PrintStream PROTOCOL = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final Base64.Encoder B64 = Base64.getEncoder();

    private static String b64(String text) {
        return B64.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static synchronized void send(String line) {
        PROTOCOL.print(line + "\n");
        PROTOCOL.flush();
    }

    /** The snippets' output, sent as OUT events at each flush (println flushes) or every 8 KiB. */
    private static final class EventStream extends OutputStream {
        private final String name;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

        EventStream(String name) {
            this.name = name;
        }

        @Override
        public synchronized void write(int b) {
            buffer.write(b);
            if (buffer.size() >= 8192) flush();
        }

        @Override
        public synchronized void write(byte[] bytes, int off, int len) {
            buffer.write(bytes, off, len);
            if (buffer.size() >= 8192) flush();
        }

        @Override
        public synchronized void flush() {
            if (buffer.size() == 0) return;
            send("OUT " + name + " " + B64.encodeToString(buffer.toByteArray()));
            buffer.reset();
        }
    }

    /** Reverses JShell's Java-literal rendering of a String value ("a\"b" → a"b). */
    static String unquote(String literal) {
        if (literal.length() < 2 || literal.charAt(0) != '"' || literal.charAt(literal.length() - 1) != '"') return literal;
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < literal.length() - 1; i++) {
            char c = literal.charAt(i);
            if (c != '\\' || i + 1 >= literal.length() - 1) {
                out.append(c);
                continue;
            }
            char next = literal.charAt(++i);
            switch (next) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case '0' -> out.append('\0');
                case 's' -> out.append(' ');
                case 'u' -> {
                    out.append((char) Integer.parseInt(literal.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> out.append(next);
            }
        }
        return out.toString();
    }

    private static String typeName(Snippet snippet) {
        if (snippet instanceof VarSnippet v) return v.typeName();
        if (snippet instanceof ExpressionSnippet e) return e.typeName();
        return "";
    }

    /** True for snippets whose value a cell shows: a bare expression (also when JShell keeps it as $N). */
    private static boolean showsValue(Snippet snippet) {
        return switch (snippet.subKind()) {
            case TEMP_VAR_EXPRESSION_SUBKIND, VAR_VALUE_SUBKIND, ASSIGNMENT_SUBKIND, OTHER_EXPRESSION_SUBKIND -> true;
            default -> false;
        };
    }

    private static String stackTrace(Throwable error) {
        StringBuilder trace = new StringBuilder();
        String name = error instanceof EvalException e ? e.getExceptionClassName() : error.getClass().getName();
        trace.append(name);
        if (error.getMessage() != null) trace.append(": ").append(error.getMessage());
        for (StackTraceElement frame : error.getStackTrace()) trace.append("\n\tat ").append(frame);
        return trace.toString();
    }

    private static void error(String name, String value, String traceback) {
        send("ERROR " + b64(name) + " " + b64(value) + " " + b64(traceback));
    }

    /** Evaluates one cell snippet by snippet; stops at the first failure. */
    private static void execute(JShell shell, String code, EventStream out, EventStream err) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String remaining = code;
        String value = null;
        try {
            while (!remaining.isBlank()) {
                SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
                boolean complete = info.completeness().isComplete();
                String source = complete ? info.source() : remaining;
                remaining = complete ? info.remaining() : "";
                value = null;
                List<SnippetEvent> events = shell.eval(source);
                for (SnippetEvent event : events) {
                    if (event.causeSnippet() != null) continue;
                    Snippet snippet = event.snippet();
                    if (event.exception() != null) {
                        Throwable thrown = event.exception();
                        String name;
                        if (thrown instanceof EvalException e) name = e.getExceptionClassName();
                        else if (thrown instanceof UnresolvedReferenceException) name = "UnresolvedReferenceException";
                        else name = thrown.getClass().getName();
                        String simple = name.substring(name.lastIndexOf('.') + 1);
                        error(simple, thrown.getMessage() == null ? "" : thrown.getMessage(), stackTrace(thrown));
                        return;
                    }
                    if (event.status() == Snippet.Status.REJECTED) {
                        List<Diag> diagnostics = shell.diagnostics(snippet).collect(Collectors.toList());
                        String message = diagnostics.isEmpty()
                            ? "the snippet was rejected"
                            : diagnostics.stream().map(d -> d.getMessage(null)).collect(Collectors.joining("\n"));
                        error("CompilationException", message, snippet.source().strip() + "\n" + message);
                        return;
                    }
                    if (event.value() != null && showsValue(snippet)) {
                        value = "String".equals(typeName(snippet)) ? unquote(event.value()) : event.value();
                    }
                }
            }
            if (value != null) send("VALUE " + b64(value));
        } catch (IllegalStateException closed) {
            error("KernelDied", "the Java evaluation engine stopped: " + closed.getMessage(), stackTrace(closed));
        } finally {
            out.flush();
            err.flush();
        }
    }

    public static void main(String[] args) throws Exception {
        EventStream out = new EventStream("stdout");
        EventStream err = new EventStream("stderr");
        JShell shell = JShell.builder()
            .out(new PrintStream(out, true, StandardCharsets.UTF_8))
            .err(new PrintStream(err, true, StandardCharsets.UTF_8))
            .remoteVMOptions("-Dfile.encoding=UTF-8", "-Dstdout.encoding=UTF-8", "-Dstderr.encoding=UTF-8")
            .build();
        BlockingQueue<String> cells = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals("STOP")) shell.stop();
                    else if (line.startsWith("EXEC ")) cells.put(new String(Base64.getDecoder().decode(line.substring(5)), StandardCharsets.UTF_8));
                }
            } catch (Exception ignored) {
                // stdin closed or broken: the kernel is gone
            }
            cells.offer("\u0000EOF");
        }, "requests");
        reader.setDaemon(true);
        reader.start();
        shell.eval("1");
        send("READY");
        while (true) {
            String code = cells.take();
            if (code.equals("\u0000EOF")) break;
            execute(shell, code, out, err);
            send("DONE");
        }
        shell.close();
        System.exit(0);
    }
}
