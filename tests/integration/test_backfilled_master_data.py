"""A go-live backfill of the customer master, years old, read by every service that reads it.

Profile and notification both read tierflow.customer.v1 and apply one admission rule
(tierflow_common.admission): a customer.updated three years old is state, not a late windowed fact,
so the profile gives the customer their consents, risk level and age band, routing sees them
through the profile, and notification's consent projection holds the same consents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tierflow_common.db.engine import create_engine
from tierflow_common.events import topics
from tierflow_notification.adapters import contacts
from tierflow_notification.bootstrap import MIGRATIONS_DIR as NOTIFICATION_MIGRATIONS
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build as build_notification
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR as PROFILE_MIGRATIONS
from tierflow_profile.bootstrap import build as build_profile
from tierflow_profile.settings import ProfileSettings
from tierflow_routing.adapters import customers
from tierflow_routing.bootstrap import MIGRATIONS_DIR as ROUTING_MIGRATIONS
from tierflow_routing.bootstrap import build as build_routing
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import committed_offsets, produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration

SECRET = "backfill-test-secret-0123456789-abcdefgh"
CONSENTS = {
    "marketing_sms": True,
    "marketing_push": True,
    "marketing_email": False,
    "marketing_phone": False,
    "data_for_advice": True,
}


async def test_a_customer_master_backfilled_from_years_ago_reaches_every_service(ns: Namespace) -> None:
    now = datetime.now(UTC)
    profile = ns.settings(ProfileSettings, "profile")
    routing = ns.settings(RoutingSettings, "routing", jwt_secret=SECRET, cache_namespace=f"{ns.name}:")
    notification = ns.settings(NotificationSettings, "notification", jwt_secret=SECRET)
    for settings, directory in (
        (profile, PROFILE_MIGRATIONS),
        (routing, ROUTING_MIGRATIONS),
        (notification, NOTIFICATION_MIGRATIONS),
    ):
        await migrate(settings, directory)
    backfill = b.customer("OLD1", now - timedelta(days=3 * 365), risk_level="C4", birth_year=1958, consents=CONSENTS)
    bootstrap = ns.infra.kafka_bootstrap
    await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [backfill])
    await produce(bootstrap, ns.topics.name(topics.BALANCE), [b.balance("OLD1", "3000000.00", now)])

    engines = {
        name: create_engine(s.infra.database_url.get_secret_value(), schema=s.db_schema, application_name="t")
        for name, s in (("profile", profile), ("routing", routing), ("notification", notification))
    }
    try:
        async with (
            running(build_profile(profile)),
            running(build_routing(routing)),
            running(build_notification(notification)),
        ):

            async def profile_done() -> bool:
                offsets = [
                    offset or 0
                    for topic in (topics.CUSTOMER, topics.BALANCE)
                    for offset in (
                        await committed_offsets(bootstrap, profile.consumer_group, ns.topics.name(topic))
                    ).values()
                ]
                return sum(offsets) == 2

            await wait_until(profile_done, timeout_s=60, what="the profile service to take both events")
            async with engines["profile"].connect() as conn:
                stored = await PROFILES.get(conn, "OLD1")
            assert stored is not None

            async def routing_caught_up() -> bool:
                async with engines["routing"].connect() as conn:
                    state = await customers.STORE.get(conn, "OLD1")
                return state is not None and state.profile.profile_version == stored.version

            await wait_until(routing_caught_up, timeout_s=60, what="routing to hold OLD1's newest profile")

            async def notification_knows() -> bool:
                async with engines["notification"].connect() as conn:
                    return "OLD1" in await contacts.load_contacts(conn, ["OLD1"])

            await wait_until(notification_knows, timeout_s=30, what="notification's consent projection of OLD1")

        assert (stored.risk_level, stored.birth_year, stored.consents) == ("C4", 1958, CONSENTS)
        async with engines["routing"].connect() as conn:
            routed = await customers.STORE.get(conn, "OLD1")
        assert routed is not None
        facts = routed.profile
        assert (facts.risk_level, facts.age_band, facts.investor_type) == ("C4", "60_plus", "individual")
        assert facts.consents == CONSENTS  # not "refused advice": data_for_advice is granted
        async with engines["notification"].connect() as conn:
            projected = (await contacts.load_contacts(conn, ["OLD1"]))["OLD1"]
        assert dict(projected.consents) == facts.consents  # the two services agree
        assert projected.consents_as_of == backfill.occurred_at
        dead = await read_topic(bootstrap, ns.topics.name(topics.DEAD_LETTER), timeout_s=3)
        assert dead == []
    finally:
        for engine in engines.values():
            await engine.dispose()
