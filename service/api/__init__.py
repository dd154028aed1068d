"""REST blueprints, one per resource, all under ``/api/v1`` (registered by ``create_app``)."""
