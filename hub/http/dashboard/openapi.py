"""The dashboard's endpoints in the OpenAPI document (merged by hub.http.openapi)."""

from __future__ import annotations

from typing import Any

_TS = {"type": "number", "description": "seconds since the epoch (UTC)"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_NULLABLE_NUMBER = {"type": "number", "nullable": True}
_MEASUREMENTS = {"type": "object", "additionalProperties": {"type": "number"}}

_ERROR_TEXTS = {
    400: "a parameter or the body is wrong (the message names it)",
    401: "no valid bearer token (or ticket, for /api/events)",
    403: "without a token, changes are accepted only from this hub's own page on loopback",
    404: "no such sensor",
    406: "the client does not accept text/event-stream",
    409: "several sensors answer to that name, or the new name is taken",
    413: "the body is too large",
    415: "the body is not JSON",
    503: "the database cannot be used just now, or too many live clients; try again",
}


def _errors(*statuses: int, secured: bool) -> dict[str, Any]:
    wanted = [*statuses, *((401,) if secured else ())]
    return {
        str(s): {
            "description": _ERROR_TEXTS[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in sorted(wanted)
    }


_SPARK = {
    "type": "object",
    "description": "24 h of temperature and humidity: hourly means, then one reading per "
    "5 min for the last two hours; `t` are the times, the others the values (null: absent)",
    "required": ["t", "temperature", "humidity"],
    "properties": {
        "t": {"type": "array", "items": _TS},
        "temperature": {"type": "array", "items": _NULLABLE_NUMBER},
        "humidity": {"type": "array", "items": _NULLABLE_NUMBER},
    },
}
_DASHBOARD_SENSOR_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "address": {"type": "string"},
    "name": {
        "type": "string",
        "description": "the config's name, else the given, else the "
        "advertised name, else the address",
    },
    "given_name": _NULLABLE_STRING,
    "advertised_name": _NULLABLE_STRING,
    "location": _NULLABLE_STRING,
    "notes": _NULLABLE_STRING,
    "integration": {"type": "string"},
    "model": _NULLABLE_STRING,
    "format": _NULLABLE_STRING,
    "configured": {
        "type": "array",
        "items": {"type": "string"},
        "description": "metadata the config's `devices:` sets (it wins at the next start)",
    },
    "first_seen": _TS,
    "last_seen": _TS,
    "state": {"type": "string", "enum": ["ok", "stale", "alerting"]},
    "latest": {
        "type": "object",
        "nullable": True,
        "required": ["ts", "measurements", "rssi"],
        "properties": {
            "ts": _TS,
            "measurements": _MEASUREMENTS,
            "rssi": {"type": "integer", "nullable": True},
        },
    },
    "spark": {"$ref": "#/components/schemas/Spark"},
}
_DASHBOARD_SENSOR = {
    "type": "object",
    "required": [k for k in _DASHBOARD_SENSOR_PROPERTIES if k != "spark"],
    "properties": _DASHBOARD_SENSOR_PROPERTIES,
}
_DASHBOARD_ALERT = {
    "type": "object",
    "required": ["rule", "sensor", "address", "state", "since", "started", "value", "severity"],
    "properties": {
        "rule": {"type": "string"},
        "sensor": {"type": "string"},
        "address": _NULLABLE_STRING,
        "state": {"type": "string", "enum": ["pending", "firing"]},
        "since": _NULLABLE_NUMBER,
        "started": _NULLABLE_NUMBER,
        "value": _NULLABLE_NUMBER,
        "severity": {"type": "string"},
        "message": {"type": "string"},
    },
}
_TRANSITION = {
    "type": "object",
    "required": ["id", "ts", "rule", "sensor", "state", "severity", "message"],
    "properties": {
        "id": {"type": "integer"},
        "ts": _TS,
        "rule": {"type": "string"},
        "sensor": {"type": "string"},
        "address": _NULLABLE_STRING,
        "state": {"type": "string"},
        "value": _NULLABLE_NUMBER,
        "severity": {"type": "string"},
        "message": {"type": "string"},
    },
}
_BATTERY = {
    "type": "object",
    "nullable": True,
    "required": ["ts", "sensors"],
    "properties": {
        "ts": _TS,
        "sensors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["address", "battery", "voltage", "last_seen", "days_left"],
                "properties": {
                    "address": {"type": "string"},
                    "name": _NULLABLE_STRING,
                    "battery": _NULLABLE_NUMBER,
                    "voltage": _NULLABLE_NUMBER,
                    "last_seen": _TS,
                    "days_left": _NULLABLE_NUMBER,
                    "trend_per_day": _NULLABLE_NUMBER,
                    "model": _NULLABLE_STRING,
                    "location": _NULLABLE_STRING,
                },
            },
        },
    },
}
_DASHBOARD = {
    "type": "object",
    "required": ["hub", "now", "settings", "health", "sensors", "alerts", "battery"],
    "properties": {
        "hub": {
            "type": "object",
            "required": ["name", "version", "started"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "started": _TS,
            },
        },
        "now": _TS,
        "settings": {
            "type": "object",
            "required": ["stale_after", "live_interval", "token_required"],
            "properties": {
                "stale_after": {"type": "number"},
                "live_interval": {"type": "number"},
                "token_required": {"type": "boolean"},
                "spark_since": _TS,
                "spark_recent_from": _TS,
                "spark_recent_step": {"type": "number"},
            },
        },
        "health": {
            "type": "object",
            "required": ["status", "reason", "problems"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded", "failing"]},
                "reason": {"type": "string"},
                "problems": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "sensors": {"type": "array", "items": {"$ref": "#/components/schemas/DashboardSensor"}},
        "alerts": {
            "type": "object",
            "required": ["active", "recent"],
            "properties": {
                "active": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/DashboardAlert"},
                },
                "recent": {"type": "array", "items": {"$ref": "#/components/schemas/Transition"}},
            },
        },
        "battery": {"$ref": "#/components/schemas/BatteryReport"},
    },
}
_SENSOR_CHANGES = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "description": "what to change; an empty or null location or notes clears it",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "location": {"type": "string", "maxLength": 128, "nullable": True},
        "notes": {"type": "string", "maxLength": 1024, "nullable": True},
    },
}
_SENSOR_EDIT = {
    "type": "object",
    "required": ["sensor", "changed", "warnings"],
    "properties": {
        "sensor": {"$ref": "#/components/schemas/DashboardSensor"},
        "changed": {"type": "array", "items": {"type": "string"}},
        "warnings": {
            "type": "array",
            "items": {"type": "string"},
            "description": "e.g. that the config sets a field just written (it wins at the "
            "next start)",
        },
    },
}
_TICKET = {
    "type": "object",
    "required": ["ticket", "expires_in"],
    "properties": {
        "ticket": {"type": "string"},
        "expires_in": {"type": "number", "description": "seconds"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Spark": _SPARK,
    "DashboardSensor": _DASHBOARD_SENSOR,
    "DashboardAlert": _DASHBOARD_ALERT,
    "Transition": _TRANSITION,
    "BatteryReport": _BATTERY,
    "Dashboard": _DASHBOARD,
    "SensorChanges": _SENSOR_CHANGES,
    "SensorEdit": _SENSOR_EDIT,
    "EventTicket": _TICKET,
}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def paths(*, secured: bool, sensor_id: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Operations by path; `sensor_id` is the API's `{id}` parameter."""
    security: list[dict[str, list[str]]] = [{"bearer": []}] if secured else []
    return {
        "/api/dashboard": {
            "get": {
                "summary": "The dashboard's first screen: every sensor with its latest values, "
                "state and 24 h sparkline; alerts; the battery report; health",
                "operationId": "dashboard",
                "security": security,
                "responses": {
                    "200": _ok("Dashboard", "the summary"),
                    **_errors(400, 503, secured=secured),
                },
            }
        },
        "/api/events": {
            "get": {
                "summary": "Live updates as server-sent events (readings coalesced per sensor, "
                "alerts, health, battery reports, sensor edits); needs Accept: text/event-stream",
                "operationId": "events",
                "security": security,
                "parameters": [
                    {
                        "name": "ticket",
                        "in": "query",
                        "description": "a one-time ticket from POST /api/events/ticket, for "
                        "clients that cannot send the Authorization header (EventSource)",
                        "schema": {"type": "string", "maxLength": 200},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "an endless text/event-stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 406, 503, secured=secured),
                },
            }
        },
        "/api/events/ticket": {
            "post": {
                "summary": "A one-time ticket (valid 30 s) to open /api/events without a header",
                "operationId": "eventsTicket",
                "security": security,
                "responses": {
                    "200": _ok("EventTicket", "the ticket"),
                    **_errors(400, secured=secured),
                },
            }
        },
        "/api/sensors/{id}": {
            "patch": {
                "summary": "Rename a sensor, or set its location or notes (as `hub sensors`)",
                "operationId": "editSensor",
                "security": security,
                "parameters": [sensor_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SensorChanges"}
                        }
                    },
                },
                "responses": {
                    "200": _ok("SensorEdit", "the sensor as it is now"),
                    **_errors(400, 403, 404, 409, 413, 415, 503, secured=secured),
                },
            }
        },
    }
