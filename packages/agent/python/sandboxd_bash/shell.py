"""The bash process behind the kernel: one interactive shell on a pty, driven line by line."""

import os
import secrets
import signal

import pexpect

_SEP = "\x1e"


def ansi_c_quote(text):
    """Quotes ``text`` as a bash ``$'...'`` word (single line, no processes, no files)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def _default_signals():
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)


class BashShell:
    def __init__(self):
        self.child = None
        self.start()

    def start(self):
        self.child = pexpect.spawn(
            "/bin/bash",
            ["--noprofile", "--norc", "--noediting", "-i"],
            env=dict(os.environ, PS1="", PS2="", PROMPT_COMMAND="", TERM="dumb"),
            echo=False,
            encoding="utf-8",
            codec_errors="replace",
            timeout=None,
            # The kernel ignores SIGINT outside handlers; bash and its jobs must not inherit that.
            preexec_fn=_default_signals,
        )
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before every send by default
        # Raw-ish pty: no echo, no 4 KiB line limit, no CRLF translation of output.
        self.run_silently("stty -echo -icanon -onlcr 2>/dev/null; unset HISTFILE; set +o history")

    @property
    def alive(self):
        return self.child is not None and self.child.isalive()

    def _marker(self):
        return secrets.token_hex(8)

    def send_command(self, code):
        """Sends ``code`` followed by a marker printing its exit status; returns the marker."""
        token = self._marker()
        line = "eval %s; printf '\\036%s %%d\\036\\n' \"$?\"\n" % (ansi_c_quote(code), token)
        self.child.send(line)
        return token

    def send_marker(self):
        """Sends a bare marker (after an interrupt discarded the pending one)."""
        token = self._marker()
        self.child.send("printf '\\036%s %%d\\036\\n' \"$?\"\n" % token)
        return token

    def interrupt(self):
        self.child.sendintr()

    def read(self, timeout=0.1):
        """Returns whatever output is available ('' on timeout); raises EOFError when bash exited."""
        try:
            return self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return ""
        except pexpect.EOF as error:
            raise EOFError("bash exited") from error

    def run_silently(self, code):
        token = self.send_command(code)
        buffer = ""
        while True:
            buffer += self.read(timeout=5)
            found = find_marker(buffer, token)
            if found is not None:
                return found[2]

    def close(self):
        if self.child is not None:
            self.child.close(force=True)


def find_marker(buffer, token):
    """Returns (before, after, status) when ``buffer`` holds the marker of ``token``."""
    start = buffer.find(_SEP + token + " ")
    if start < 0:
        return None
    end = buffer.find(_SEP, start + 1)
    if end < 0:
        return None
    status = int(buffer[start + len(token) + 2 : end] or 0)
    after = buffer[end + 1 :]
    if after.startswith("\n"):
        after = after[1:]
    return buffer[:start], after, status


def safe_prefix_length(buffer):
    """How much of ``buffer`` can be emitted without splitting a marker that may be arriving."""
    cut = buffer.rfind(_SEP)
    return len(buffer) if cut < 0 else cut
