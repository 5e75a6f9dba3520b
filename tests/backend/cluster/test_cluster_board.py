"""The board's bounded reads on a cluster (the indexes under the layout's hash tag)."""

from __future__ import annotations

from backend.store import TaskStore
from tests.backend.test_board_reads import check_board


async def test_the_board_reads_its_columns_and_counts_on_the_cluster(store: TaskStore) -> None:
    await check_board(store)
