"""The move service on Ray Serve: the reference AI service's ``/ai/move`` contract, health,
metrics and the play page (``app``: deployments and the application builder; ``ingress``:
the FastAPI routes; ``metrics``: Prometheus text; ``__main__``: the launcher that
``ringrift-ray serve`` runs)."""
