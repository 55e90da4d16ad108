"""The policy and churn-model registry: every version ever loaded, exactly one of each active."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.locks import hold_until_commit
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.fitting import FitResult
from tierflow_scoring.domain.policy import TierPolicy

LOCK = "scoring_registry"  # held by every transaction that stores or activates a policy or a model


class RegistryError(ValueError):
    """A version conflicts with what is stored, or does not exist."""


async def active_policy(conn: AsyncConnection) -> TierPolicy | None:
    row = (await conn.execute(text("SELECT document FROM policies WHERE active"))).first()
    return None if row is None else TierPolicy.model_validate(row[0])


async def active_model(conn: AsyncConnection) -> ChurnModel | None:
    row = (await conn.execute(text("SELECT version, r, alpha, a, b, time_unit FROM churn_models WHERE active"))).first()
    return None if row is None else ChurnModel(*row)


async def store_policy(conn: AsyncConnection, policy: TierPolicy, *, now: datetime, activate: bool) -> bool:
    """Record a policy version (refusing a different document under a known version); optionally activate it.

    The scoring service notices the new active version and re-scores everyone under it.
    Returns True when the active policy changed.
    """
    await hold_until_commit(conn, LOCK)
    document = policy.model_dump(mode="json")
    row = (
        await conn.execute(text("SELECT document, active FROM policies WHERE version = :v"), {"v": policy.version})
    ).first()
    if row is not None and row[0] != document:
        raise RegistryError(f"policy version {policy.version} already exists with another content; bump `version`")
    if row is None:
        await conn.execute(
            text(
                "INSERT INTO policies (version, document, description, created_at, active) "
                "VALUES (:v, CAST(:d AS jsonb), :desc, :now, false)"
            ),
            {"v": policy.version, "d": _json(document), "desc": policy.description, "now": now},
        )
    if not activate or (row is not None and row[1]):
        return False
    await conn.execute(text("UPDATE policies SET active = false WHERE active"))
    await conn.execute(
        text("UPDATE policies SET active = true, activated_at = :now WHERE version = :v"),
        {"v": policy.version, "now": now},
    )
    return True


async def store_model(
    conn: AsyncConnection,
    model: ChurnModel,
    *,
    now: datetime,
    activate: bool,
    fit: FitResult | None = None,
    source: str,
) -> bool:
    """Record a model version; optionally activate it. True when the active model changed."""
    await hold_until_commit(conn, LOCK)
    row = (await conn.execute(text("SELECT active FROM churn_models WHERE version = :v"), {"v": model.version})).first()
    if row is None:
        await conn.execute(
            text(
                "INSERT INTO churn_models (version, r, alpha, a, b, time_unit, customers, log_likelihood, source,"
                " created_at, active) VALUES"
                " (:version, :r, :alpha, :a, :b, :time_unit, :customers, :ll, :source, :now, false)"
            ),
            {
                **asdict(model),
                "customers": 0 if fit is None else fit.customers,
                "ll": None if fit is None else fit.log_likelihood,
                "source": source,
                "now": now,
            },
        )
    if not activate or (row is not None and row[0]):
        return False
    await conn.execute(text("UPDATE churn_models SET active = false WHERE active"))
    await conn.execute(
        text("UPDATE churn_models SET active = true, activated_at = :now WHERE version = :v"),
        {"v": model.version, "now": now},
    )
    return True


async def activate_model(conn: AsyncConnection, version: str, *, now: datetime) -> None:
    if (await conn.execute(text("SELECT 1 FROM churn_models WHERE version = :v"), {"v": version})).first() is None:
        raise RegistryError(f"no churn model {version}")
    await conn.execute(text("UPDATE churn_models SET active = false WHERE active"))
    await conn.execute(
        text("UPDATE churn_models SET active = true, activated_at = :now WHERE version = :v"),
        {"v": version, "now": now},
    )


async def list_models(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = await conn.execute(
        text(
            "SELECT version, r, alpha, a, b, time_unit, customers, log_likelihood, source, created_at, active "
            "FROM churn_models ORDER BY created_at"
        )
    )
    return [dict(row._mapping) for row in rows]


def _json(document: object) -> str:
    import orjson

    return orjson.dumps(document).decode()
