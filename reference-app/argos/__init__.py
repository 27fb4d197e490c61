"""Argos: the reference application argos-cloud deploys (a WSGI app and a Celery worker)."""
