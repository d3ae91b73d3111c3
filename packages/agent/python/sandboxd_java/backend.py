"""The JShell backend process (``JShellBackend.java``) and its line protocol."""

import base64
import os
import signal
import subprocess

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "JShellBackend.java")
# The backend itself only shuttles lines: a quick-starting JVM is all it needs. The cells run in
# the JVM that JShell launches, with default options.
BACKEND_JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]


def _decode(text):
    return base64.b64decode(text).decode("utf-8", "replace")


def parse_event(line):
    """One backend output line as a tuple: ("ready",), ("out", name, bytes), ("value", text),
    ("error", name, value, traceback), ("done",); None for a line that is not an event."""
    parts = line.rstrip("\n").split(" ")
    kind = parts[0]
    if kind == "READY" and len(parts) == 1:
        return ("ready",)
    if kind == "DONE" and len(parts) == 1:
        return ("done",)
    if kind == "OUT" and len(parts) == 3 and parts[1] in ("stdout", "stderr"):
        return ("out", parts[1], base64.b64decode(parts[2]))
    if kind == "VALUE" and len(parts) == 2:
        return ("value", _decode(parts[1]))
    if kind == "ERROR" and len(parts) == 4:
        return ("error", _decode(parts[1]), _decode(parts[2]), _decode(parts[3]))
    return None


def exec_request(code):
    return "EXEC " + base64.b64encode(code.encode("utf-8")).decode("ascii") + "\n"


class Backend:
    """A running ``java JShellBackend.java``; ``events()`` yields parsed events."""

    def __init__(self):
        self.process = subprocess.Popen(
            ["java", *BACKEND_JVM_OPTIONS, SOURCE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            encoding="utf-8",
            bufsize=1,
            # In the kernel's process group, so that the agent's SIGKILL of the group ends the
            # JVMs too, but deaf to the SIGINT an interrupt sends the group: a JVM started with
            # SIGINT ignored keeps it ignored (and so does the JVM JShell launches); the kernel
            # turns the interrupt into a STOP request instead.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )

    @property
    def alive(self):
        return self.process.poll() is None

    def send(self, line):
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def next_event(self):
        """The next event; EOFError when the backend exited."""
        while True:
            line = self.process.stdout.readline()
            if line == "":
                raise EOFError("the Java backend exited")
            event = parse_event(line)
            if event is not None:
                return event

    def wait_ready(self):
        while self.next_event()[0] != "ready":
            pass

    def stop(self):
        self.send("STOP\n")

    def close(self):
        if self.alive:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()
