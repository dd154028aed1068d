"""Dashboard helper endpoints that reuse ``inversion.formats`` (one parser, one writer):

* ``POST /dashboard/files/parse`` — an uploaded file (multipart ``file``) or pasted ``text``
  → ``{"source", "soundings": [{"id", "observation"}]}`` with observation dicts in the REST layout
  (tables: CSV/TSV/text; ``.edi``: MT, ``mode`` det/te/tm);
* ``POST /dashboard/files/export/<kind>`` — a JSON body with inversion results → a download:
  ``result.csv`` (layer table), ``smooth.csv`` (the smooth model with below-DOI flags),
  ``result.json``, ``figure.png`` / ``figure.svg`` (matplotlib), and ``profile.csv`` /
  ``smooth-profile.csv`` (many soundings);
* ``POST /dashboard/files/response`` — ``{observation, result}`` → ``{"curves": [{"x", "rho_a_ohmm",
  "phase_deg"?}]}``: the result's model response densely sampled between the data (one curve per
  MN/2 segment), the same curve the CLI figures draw.

Errors use the API's JSON error shape (400 for a malformed file or body).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, request

from inversion import formats
from inversion.formats import response
from inversion.jsonable import jsonable
from service.errors import ApiError

EXPORT_KINDS = (
    "result.csv",
    "result.json",
    "smooth.csv",
    "figure.png",
    "figure.svg",
    "profile.csv",
    "smooth-profile.csv",
)
_MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "png": "image/png",
    "svg": "image/svg+xml",
}
_SAFE_STEM = re.compile(r"[^A-Za-z0-9._-]+")
#: figure titles longer than this are refused (matplotlib's layout time grows with the text)
MAX_TITLE_CHARS = 200
#: a CSV cell starting with one of these is a formula to spreadsheet programs
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """``text`` for a CSV cell that spreadsheets will not run as a formula (``'`` prefixed)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _decode(raw: bytes, field: str) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), else Latin-1."""
    if not raw.strip():
        raise ApiError(400, "invalid_data", f"{field}: the file is empty")
    if b"\x00" in raw[:4096]:
        raise ApiError(400, "invalid_data", f"{field}: a binary file, not a text table or EDI")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_upload(text: str, filename: str, mode: str) -> list[dict[str, Any]]:
    """Parse table, TEM or EDI ``text`` into ``[{"id", "observation"}]`` in file order.

    ``filename`` decides EDI (``.edi`` suffix, or a text starting with ``>HEAD``); TEM files
    (USF, TEM-FAST exports, TEM tables) are recognised by content; anything else is a table;
    ``mode`` (det, te/xy, tm/yx) picks the MT mode of an EDI file. Raises ``ApiError`` (400)
    naming the line and field when the text is malformed.
    """
    is_edi = filename.lower().endswith(".edi") or text.lstrip().upper().startswith(">HEAD")
    try:
        if is_edi:
            data = formats.parse_edi(text, path=filename or None)
            soundings = {data.station: formats.edi_observation(data, mode)}
        else:  # TEM recognised by content (USF, TEM-FAST, TEM tables), as the CLI does
            soundings = formats.parse_tem(text, filename or None) or formats.parse_table(
                text, path=filename or None
            )
    except (ValueError, csv.Error) as exc:  # FormatError is a ValueError; so is a bad mode
        raise ApiError(400, "invalid_data", str(exc)) from exc
    for sid, obs in soundings.items():
        where = _non_finite(obs)
        if where:
            raise ApiError(
                400,
                "invalid_data",
                f"sounding {sid}: {where} is not a finite number (values too large?)",
            )
    return [{"id": str(sid), "observation": jsonable(obs)} for sid, obs in soundings.items()]


def _non_finite(observation: Mapping[str, Any]) -> str | None:
    """``field[index]`` of the first infinite or NaN number of an observation, None if there is
    none (JSON has no such numbers; e.g. the apparent resistivity of a huge EDI impedance)."""
    for key, value in observation.items():
        try:
            values = np.asarray(value, dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            return f"{key}[{int(bad[0])}]" if values.size > 1 else str(key)
    return None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "body: expected a JSON object")
    return body


def _mapping(body: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = body.get(field)
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_request", f"{field}: expected a JSON object")
    return value


def _stem(body: Mapping[str, Any], default: str) -> str:
    stem = _SAFE_STEM.sub("_", str(body.get("filename") or default)).strip("._")
    return stem[:80] or default


def _figure_bytes(
    observation: dict[str, Any], result: dict[str, Any], title: str, fmt: str
) -> bytes:
    # matplotlib only when a figure is asked for: about 0.5 s of start-up (python -X importtime)
    from inversion.formats.figures import make_figure

    figure = make_figure(observation, result, title)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, dpi=120, metadata=metadata)
    return buffer.getvalue()


def export_payload(kind: str, body: Mapping[str, Any]) -> tuple[bytes, str]:
    """Build the download ``kind`` (one of :data:`EXPORT_KINDS`) from ``body``.

    ``result.*`` and ``figure.*`` need ``result`` (an inversion result) and, for figures,
    ``observation``; ``profile.csv`` and ``smooth-profile.csv`` need ``soundings``:
    ``[{"id", "result"}]``. Returns
    ``(content, file suffix)``; raises ``ApiError`` (400) for a malformed body.
    """
    try:
        if kind in ("profile.csv", "smooth-profile.csv"):
            items = body.get("soundings")
            if not isinstance(items, list) or not items:
                raise ApiError(400, "invalid_request", "soundings: expected a non-empty list")
            pairs = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("result"), dict):
                    raise ApiError(400, "invalid_request", f"soundings[{i}].result: missing")
                pairs.append((csv_safe(str(item.get("id", i))), item["result"]))
            write = (
                formats.format_profile_csv
                if kind == "profile.csv"
                else formats.format_smooth_profile_csv
            )
            return write(pairs).encode("utf-8"), "csv"
        result = _mapping(body, "result")
        if kind == "result.csv":
            return formats.format_layer_csv(result).encode("utf-8"), "csv"
        if kind == "smooth.csv":
            return formats.format_smooth_csv(result).encode("utf-8"), "csv"
        if kind == "result.json":
            return formats.format_result_json(result).encode("utf-8"), "json"
        fmt = kind.split(".", 1)[1]
        observation = _mapping(body, "observation")
        title = str(body.get("title") or "")
        if len(title) > MAX_TITLE_CHARS:
            raise ApiError(
                400,
                "too_large",
                f"title: {len(title)} characters, above the limit of {MAX_TITLE_CHARS}",
            )
        return _figure_bytes(observation, result, title, fmt), fmt
    except ApiError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # a result whose arrays disagree in length, a misfit that is not an object…
        message = str(exc)
        if not message.startswith("result"):
            message = f"result: {message}"
        raise ApiError(400, "invalid_data", message) from exc


def dense_response(body: Mapping[str, Any]) -> list[dict[str, list[float]]]:
    """The dense model response of ``body`` (``observation``, ``result``) as JSON curves: ``x``
    (m or s) and ``rho_a_ohmm`` (Ω·m), plus ``phase_deg`` for MT. Raises ``ApiError`` (400)."""
    observation = _mapping(body, "observation")
    result = _mapping(body, "result")
    axis = next((k for k in ("ab2_m", "a_m", "periods_s") if k in observation), None)
    if axis is None:
        raise ApiError(400, "invalid_data", "observation: no ab2_m, a_m or periods_s field")
    try:
        curves = response.dense_response(observation, result, axis)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ApiError(400, "invalid_data", f"result: {exc}") from exc
    out = []
    for x, data in curves:
        curve = {"x": x.tolist(), "rho_a_ohmm": data[:, 0].tolist()}
        if data.shape[1] > 1:
            curve["phase_deg"] = data[:, 1].tolist()
        out.append(curve)
    return out


def register_file_routes(bp: Blueprint) -> None:
    """Add the parse and export endpoints to the dashboard blueprint."""

    @bp.post("/dashboard/files/parse")
    def parse_file() -> Response:
        mode = request.form.get("mode", "det")
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            filename = upload.filename
            text = _decode(upload.read(), "file")
        else:
            text = request.form.get("text", "")
            filename = request.form.get("filename", "pasted.csv")
            if not text.strip():
                raise ApiError(400, "invalid_data", "text: nothing pasted and no file uploaded")
        soundings = parse_upload(text, filename, mode)
        return jsonify({"source": filename, "soundings": soundings})

    @bp.post("/dashboard/files/response")
    def response_curve() -> Response:
        return jsonify({"curves": dense_response(_json_body())})

    @bp.post("/dashboard/files/export/<kind>")
    def export(kind: str) -> Response:
        if kind not in EXPORT_KINDS:
            raise ApiError(404, "not_found", f"kind: one of {list(EXPORT_KINDS)}, got {kind!r}")
        body = _json_body()
        content, suffix = export_payload(kind, body)
        stem = _stem(body, kind.split(".", 1)[0])
        return Response(
            content,
            content_type=_MIMETYPES[suffix],
            headers={"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'},
        )
