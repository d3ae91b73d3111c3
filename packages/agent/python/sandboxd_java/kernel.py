"""ipykernel ``Kernel`` subclass that evaluates Java cells with JShell (``backend.py``).

A cell runs snippet by snippet; what it prints streams out, the value of its last expression is
the result (a String shown as its text, as E2B's Java kernel does), and the first exception or
compilation error ends it as an error.
"""

import codecs

from ipykernel.kernelbase import Kernel

from .backend import Backend, exec_request


class JavaKernel(Kernel):
    implementation = "sandboxd_java"
    implementation_version = "0.1.0"
    language = "java"
    language_version = "21"
    language_info = {"name": "java", "mimetype": "text/x-java", "file_extension": ".jshell", "codemirror_mode": "java"}
    banner = "Java (JShell, sandboxd)"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.backend = None

    def _ensure_backend(self):
        if self.backend is None or not self.backend.alive:
            backend = Backend()
            try:
                backend.wait_ready()
            except BaseException:
                backend.process.kill()
                raise
            self.backend = backend

    def _run(self, code, silent):
        self.backend.send(exec_request(code))
        return self._collect(silent)

    def _collect(self, silent):
        """Streams the running cell's output until its DONE; returns (value, failure)."""
        decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        value, failure = None, None
        while True:
            event = self.backend.next_event()
            kind = event[0]
            if kind == "out":
                text = decoders[event[1]].decode(event[2])
                if text and not silent:
                    self.send_response(self.iopub_socket, "stream", {"name": event[1], "text": text})
            elif kind == "value":
                value = event[1]
            elif kind == "error":
                failure = event[1:]
            elif kind == "done":
                return value, failure

    def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, *, cell_id=None):
        if not code.strip():
            return self._ok()
        try:
            self._ensure_backend()
            value, failure = self._run(code, silent)
        except KeyboardInterrupt:
            if self.backend is not None and self.backend.alive:
                self.backend.stop()
                try:
                    self._collect(True)
                except (EOFError, KeyboardInterrupt):
                    self.backend.process.kill()
                    self.backend = None
            return self._error("KeyboardInterrupt", "the cell was interrupted", [], silent)
        except EOFError:
            self.backend = None
            return self._error("KernelDied", "the Java backend exited; a new one starts with the next cell (its state was lost)", [], silent)
        if failure is not None:
            name, message, traceback = failure
            return self._error(name, message, traceback.split("\n") if traceback else [], silent)
        if value is not None and not silent:
            content = {"execution_count": self.execution_count, "data": {"text/plain": value}, "metadata": {}}
            self.send_response(self.iopub_socket, "execute_result", content)
        return self._ok()

    def _ok(self):
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    def _error(self, name, value, traceback, silent):
        content = {"ename": name, "evalue": value, "traceback": traceback}
        if not silent:
            self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def do_shutdown(self, restart):
        if self.backend is not None:
            self.backend.close()
        return {"status": "ok", "restart": restart}
