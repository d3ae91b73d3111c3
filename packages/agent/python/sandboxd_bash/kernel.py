"""ipykernel ``Kernel`` subclass that runs cells in a persistent bash (see ``shell.py``)."""

from ipykernel.kernelbase import Kernel

from .shell import BashShell, find_marker, safe_prefix_length


class BashKernel(Kernel):
    implementation = "sandboxd_bash"
    implementation_version = "0.1.0"
    language = "bash"
    language_version = "5"
    language_info = {"name": "bash", "mimetype": "text/x-sh", "file_extension": ".sh", "codemirror_mode": "shell"}
    banner = "bash (sandboxd)"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bash = BashShell()

    def _stream(self, text, silent):
        if text and not silent:
            self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": text})

    def _drain(self, token, silent):
        """Streams output until the marker of ``token``; returns the exit status."""
        buffer = ""
        while True:
            buffer += self.bash.read()
            found = find_marker(buffer, token)
            if found is not None:
                before, _after, status = found
                self._stream(before, silent)
                return status
            cut = safe_prefix_length(buffer)
            self._stream(buffer[:cut], silent)
            buffer = buffer[cut:]

    def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, *, cell_id=None):
        if not code.strip():
            return self._ok()
        if not self.bash.alive:
            self.bash.start()
        try:
            token = self.bash.send_command(code)
            status = self._drain(token, silent)
        except KeyboardInterrupt:
            self.bash.interrupt()
            try:
                self._drain(self.bash.send_marker(), silent)
            except EOFError:
                self.bash.start()
            return self._error("KeyboardInterrupt", "the command was interrupted", silent)
        except EOFError:
            self.bash.start()
            return self._error("ShellExited", "bash exited; a new shell was started (variables and cwd were reset)", silent)
        if status != 0:
            return self._error("NonZeroExitCode", f"command exited with status {status}", silent)
        return self._ok()

    def _ok(self):
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    def _error(self, name, value, silent):
        content = {"ename": name, "evalue": value, "traceback": []}
        if not silent:
            self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def do_shutdown(self, restart):
        self.bash.close()
        return {"status": "ok", "restart": restart}
