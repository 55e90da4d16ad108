"""The rules the profile use cases refuse requests by (categories from tierflow_common.exceptions)."""

from __future__ import annotations

from tierflow_common.exceptions import NotFound


class ProfileNotFound(NotFound):
    """No profile is stored for the customer."""
