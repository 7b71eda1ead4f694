"""The refusal that services, views and consumers share."""


class ServiceError(Exception):
    """A refusal with a stable machine code, a message for people and a WebSocket close code."""

    def __init__(self, code: str, message: str, *, close_code: int = 4400, http_status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        self.http_status = http_status

    def to_frame(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}
