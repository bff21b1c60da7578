"""The OpenAPI 3 document of the HTTP API, served at /api/openapi.json.

Written by hand next to the handlers (hub.http.api) and checked against them by the fuzz
test (schemathesis): every answer must be documented and match its schema.
"""

from __future__ import annotations

from typing import Any

from hub import __version__
from hub.http.dashboard.openapi import SCHEMAS as DASHBOARD_SCHEMAS
from hub.http.dashboard.openapi import paths as dashboard_paths

_NULLABLE_STRING = {"type": "string", "nullable": True}
_NUMBER = {"type": "number"}
_TS = {"type": "number", "description": "seconds since the epoch (UTC)"}

_ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "what was wrong, for people"},
        "status": {"type": "integer"},
        "candidates": {"type": "array", "items": {"type": "string"}},
        "measurements": {"type": "array", "items": {"type": "string"}},
    },
}
_CHECK = {
    "type": "object",
    "required": ["state", "reason", "since", "for_s", "details"],
    "properties": {
        "state": {"type": "string", "enum": ["ok", "degraded", "failing"]},
        "reason": {"type": "string"},
        "since": {**_TS, "description": "when this state began"},
        "for_s": _NUMBER,
        "details": {"type": "object", "additionalProperties": True},
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status", "ts", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "failing"]},
        "ts": _TS,
        "checks": {
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/Check"},
        },
    },
}
_LATEST = {
    "type": "object",
    "nullable": True,
    "required": ["ts", "time", "measurements", "rssi"],
    "properties": {
        "ts": _TS,
        "time": {"type": "string", "format": "date-time"},
        "measurements": {"type": "object", "additionalProperties": {"type": "number"}},
        "rssi": {"type": "integer", "nullable": True},
    },
}
_SENSOR_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "address": {"type": "string"},
    "name": {"type": "string", "description": "given name, else advertised name, else address"},
    "given_name": _NULLABLE_STRING,
    "advertised_name": _NULLABLE_STRING,
    "location": _NULLABLE_STRING,
    "notes": _NULLABLE_STRING,
    "integration": {"type": "string"},
    "model": _NULLABLE_STRING,
    "disabled": {"type": "boolean"},
    "first_seen": _TS,
    "last_seen": _TS,
    "latest": {"$ref": "#/components/schemas/Latest"},
}
_SENSOR = {
    "type": "object",
    "required": list(_SENSOR_PROPERTIES),
    "properties": _SENSOR_PROPERTIES,
}
_SENSOR_DETAIL = {
    "type": "object",
    "required": [*_SENSOR_PROPERTIES, "measurements"],
    "properties": {
        **_SENSOR_PROPERTIES,
        "measurements": {"type": "array", "items": {"type": "string"}},
    },
}
_HISTORY_ROW = {
    "type": "object",
    "required": ["time", "ts", "measurement"],
    "properties": {
        "time": {"type": "string", "format": "date-time"},
        "ts": _TS,
        "measurement": {"type": "string"},
        "value": _NUMBER,
        "min": _NUMBER,
        "mean": _NUMBER,
        "max": _NUMBER,
        "count": {"type": "integer"},
    },
}
_HISTORY = {
    "type": "object",
    "required": [
        "sensor",
        "measurement",
        "since",
        "until",
        "resolution",
        "columns",
        "rows",
        "truncated",
    ],
    "properties": {
        "sensor": {
            "type": "object",
            "required": ["id", "address", "name"],
            "properties": {
                "id": {"type": "integer"},
                "address": {"type": "string"},
                "name": _NULLABLE_STRING,
            },
        },
        "measurement": _NULLABLE_STRING,
        "since": _TS,
        "until": _TS,
        "resolution": {"type": "string", "enum": ["raw", "hour", "day"]},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryRow"}},
        "truncated": {"type": "boolean", "description": "true when `limit` cut rows off"},
    },
}
_ACTIVE_ALERT = {
    "type": "object",
    "required": ["rule", "sensor", "address", "state", "since", "started", "value"],
    "properties": {
        "rule": {"type": "string"},
        "sensor": {"type": "string"},
        "address": _NULLABLE_STRING,
        "state": {"type": "string", "enum": ["pending", "firing"]},
        "since": {"type": "number", "nullable": True},
        "started": {"type": "number", "nullable": True},
        "value": {"type": "number", "nullable": True},
    },
}
_ALERT_EVENT = {
    "type": "object",
    "required": ["id", "ts", "time", "rule", "sensor", "state", "severity", "message"],
    "properties": {
        "id": {"type": "integer"},
        "ts": _TS,
        "time": {"type": "string", "format": "date-time"},
        "rule": {"type": "string"},
        "sensor": {"type": "string"},
        "address": _NULLABLE_STRING,
        "state": {"type": "string"},
        "value": {"type": "number", "nullable": True},
        "severity": {"type": "string"},
        "message": {"type": "string"},
    },
}
_ALERTS = {
    "type": "object",
    "required": ["active", "history"],
    "properties": {
        "active": {"type": "array", "items": {"$ref": "#/components/schemas/ActiveAlert"}},
        "history": {"type": "array", "items": {"$ref": "#/components/schemas/AlertEvent"}},
    },
}
_STATUS = {
    "type": "object",
    "required": [
        "hub",
        "health",
        "counters",
        "readings_per_minute",
        "sensors",
        "sources",
        "components",
        "recent_decode_errors",
    ],
    "properties": {
        "hub": {
            "type": "object",
            "required": ["name", "version", "started", "uptime_s", "pid"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "started": _TS,
                "uptime_s": _NUMBER,
                "pid": {"type": "integer"},
            },
        },
        "health": {
            "type": "object",
            "required": ["status", "problems"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded", "failing"]},
                "problems": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "counters": {"type": "object", "additionalProperties": {"type": "integer"}},
        "readings_per_minute": _NUMBER,
        "sensors": {
            "type": "object",
            "properties": {
                "known": {"type": "integer"},
                "heard_last_10_min": {"type": "integer"},
            },
        },
        "sources": {"type": "object", "additionalProperties": {"type": "object"}},
        "components": {"type": "array", "items": {"type": "string"}},
        "clock": {"type": "object", "nullable": True, "additionalProperties": True},
        "recent_decode_errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ts", "time", "address", "integration", "reason"],
                "properties": {
                    "ts": _TS,
                    "time": {"type": "string"},
                    "address": {"type": "string"},
                    "integration": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*statuses: int, secured: bool) -> dict[str, Any]:
    texts = {
        400: "a parameter is wrong (the message names it)",
        401: "no valid bearer token",
        404: "no such sensor (or measurement)",
        409: "several sensors answer to that name",
        503: "the database cannot be read just now; try again",
    }
    wanted = [*statuses, *((401,) if secured else ())]
    return {str(s): _json("Error", texts[s]) for s in sorted(wanted)}


_SENSOR_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "the sensor's name, advertised name or address (any case or separator)",
    "schema": {"type": "string"},
}


def openapi_document(*, secured: bool, dashboard: bool = True) -> dict[str, Any]:
    """The document; `secured` adds the bearer token to /api (as the server enforces it),
    `dashboard` the endpoints of the dashboard (hub.http.dashboard.openapi)."""
    api_security: list[dict[str, list[str]]] = [{"bearer": []}] if secured else []
    history_parameters = [
        _SENSOR_ID,
        {
            "name": "measurement",
            "in": "query",
            "description": "one measurement (default: all), e.g. temperature",
            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        {
            "name": "since",
            "in": "query",
            "description": "start: a duration ago (30m, 24h, 7d), `now`, or an ISO 8601 time "
            "(UTC unless it carries an offset). Default 24h.",
            "schema": {"type": "string", "maxLength": 64},
            "example": "24h",
        },
        {
            "name": "until",
            "in": "query",
            "description": "end, in the same forms as `since`. Default now.",
            "schema": {"type": "string", "maxLength": 64},
            "example": "now",
        },
        {
            "name": "resolution",
            "in": "query",
            "description": "auto: raw up to 48 h within the raw retention, hourly up to "
            "90 days, else daily",
            "schema": {"type": "string", "enum": ["auto", "raw", "hour", "day"]},
        },
        {
            "name": "limit",
            "in": "query",
            "description": "at most this many rows (the answer says when it cut some off)",
            "schema": {"type": "integer", "minimum": 1},
        },
        {
            "name": "format",
            "in": "query",
            "description": "json (default) or csv (as `hub history --format csv`)",
            "schema": {"type": "string", "enum": ["json", "csv"]},
        },
    ]
    history_ok = _json("History", "the sensor's history")
    history_ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "summary": "Health of every check",
                "operationId": "healthz",
                "responses": {
                    "200": _json("Health", "ok or degraded"),
                    "503": _json("Health", "at least one check is failing"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text format 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/status": {
            "get": {
                "summary": "What the hub is doing: counters, sources, health, decode errors",
                "operationId": "status",
                "security": api_security,
                "responses": {"200": _json("Status", "status"), **_errors(secured=secured)},
            }
        },
        "/api/sensors": {
            "get": {
                "summary": "Every sensor with its latest values",
                "operationId": "sensors",
                "security": api_security,
                "responses": {
                    "200": {
                        "description": "the sensors",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["sensors"],
                                    "properties": {
                                        "sensors": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Sensor"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_errors(503, secured=secured),
                },
            }
        },
        "/api/sensors/{id}": {
            "get": {
                "summary": "One sensor, its latest values and the measurements it has",
                "operationId": "sensor",
                "security": api_security,
                "parameters": [_SENSOR_ID],
                "responses": {
                    "200": _json("SensorDetail", "the sensor"),
                    **_errors(404, 409, 503, secured=secured),
                },
            }
        },
        "/api/sensors/{id}/history": {
            "get": {
                "summary": "A sensor's readings, or hourly or daily min/mean/max",
                "operationId": "history",
                "security": api_security,
                "parameters": history_parameters,
                "responses": {"200": history_ok, **_errors(400, 404, 409, 503, secured=secured)},
            }
        },
        "/api/alerts": {
            "get": {
                "summary": "Pending and firing alerts, and the latest transitions",
                "operationId": "alerts",
                "security": api_security,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "transitions to return, newest first (default 50)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    }
                ],
                "responses": {
                    "200": _json("Alerts", "alerts"),
                    **_errors(400, 503, secured=secured),
                },
            }
        },
    }
    if dashboard:
        for path, operations in dashboard_paths(secured=secured, sensor_id=_SENSOR_ID).items():
            paths.setdefault(path, {}).update(operations)
    if not secured:
        for item in paths.values():
            for operation in item.values():
                operation.pop("security", None)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "hub",
            "version": __version__,
            "description": "BLE environmental sensors: health, metrics, sensors, history, "
            "alerts. Times are seconds since the epoch (UTC) or ISO 8601.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Check": _CHECK,
                "Health": _HEALTH,
                "Latest": _LATEST,
                "Sensor": _SENSOR,
                "SensorDetail": _SENSOR_DETAIL,
                "HistoryRow": _HISTORY_ROW,
                "History": _HISTORY,
                "ActiveAlert": _ACTIVE_ALERT,
                "AlertEvent": _ALERT_EVENT,
                "Alerts": _ALERTS,
                "Status": _STATUS,
                **(DASHBOARD_SCHEMAS if dashboard else {}),
            },
        },
    }
    if secured:
        document["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "http.token"}
        }
    return document
