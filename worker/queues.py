"""The Celery queue names, in a module of their own so that the app factory (``celery_app``), the
senders (``submit``) and the worker command (``main``) share them without importing each other."""

from __future__ import annotations

DEFAULT_QUEUE = "geobp"  # dataset chunks, schedules, recovery
TRAIN_QUEUE = "train"  # training on the CPU
GPU_QUEUE = "gpu"  # training that asks for the GPU
QUEUES = (DEFAULT_QUEUE, TRAIN_QUEUE, GPU_QUEUE)
