"""geobp service: REST API, dashboard, database, registry and the ``geobp`` CLI.

The Flask app factory is :func:`service.app.create_app`. This package file imports nothing, so
``service.cli``, ``service.jobstore``, ``service.celery_entry``… do not pull in Flask by
being under ``service``.
"""
