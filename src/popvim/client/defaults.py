"""Where a PoP answers unless told otherwise; apart from the clients so that the ``pop`` CLI can show
them in its help without importing gRPC or httpx."""

DEFAULT_ADDRESS = "127.0.0.1:60000"  # the Pop protocol (gRPC)
DEFAULT_API = "http://127.0.0.1:8080"  # the REST API, where the orchestrator and the event feed are
