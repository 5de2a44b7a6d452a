"""The fixtures themselves: a walked proposal reaches every state of the normal path."""

from __future__ import annotations

import pytest

from eva_engine.services.runtime import Eva
from tests.builders import AFTER, proposal_in, state_of
from tests.conftest import World

# PostgreSQL too: every state of the normal path once on each backend
pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("state", list(AFTER))
def test_a_proposal_can_be_walked_to_each_state_of_the_normal_path(
    eva: Eva, world: World, state: str
) -> None:
    assert state_of(eva, proposal_in(eva, state)) == state
