"""The Java kernel's line protocol (sandboxd_java.backend), without a JVM."""

import base64
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sandboxd_java.backend import exec_request, parse_event  # noqa: E402


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class ProtocolTest(unittest.TestCase):
    def test_exec_request_is_one_line_whatever_the_code(self):
        line = exec_request('System.out.println("a\\nb");\nint x = 1;')
        self.assertTrue(line.startswith("EXEC ") and line.endswith("\n"))
        self.assertEqual(line.count("\n"), 1)
        self.assertEqual(base64.b64decode(line[5:]).decode(), 'System.out.println("a\\nb");\nint x = 1;')

    def test_events(self):
        self.assertEqual(parse_event("READY\n"), ("ready",))
        self.assertEqual(parse_event("DONE\n"), ("done",))
        self.assertEqual(parse_event("OUT stdout " + b64("héllo\n") + "\n"), ("out", "stdout", "héllo\n".encode()))
        self.assertEqual(parse_event("VALUE " + b64("bar")), ("value", "bar"))
        self.assertEqual(
            parse_event(f"ERROR {b64('ArithmeticException')} {b64('/ by zero')} {b64('trace')}"),
            ("error", "ArithmeticException", "/ by zero", "trace"),
        )

    def test_anything_else_is_not_an_event(self):
        for line in ["", "\n", "OUT other " + b64("x"), "VALUE", "READY now", "Picked up JAVA_TOOL_OPTIONS: -X"]:
            self.assertIsNone(parse_event(line), line)


if __name__ == "__main__":
    unittest.main()
