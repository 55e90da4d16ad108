"""The set of days a customer traded on, as a bitmap from the first trading day (lifetime, compact)."""

from __future__ import annotations

import msgspec


class TradingDays(msgspec.Struct, array_like=True, gc=False):
    """Bit i is set when the customer traded on day `first_day + i`; ten years take 457 bytes."""

    first_day: int | None = None
    bitmap: bytes = b""

    @property
    def bits(self) -> int:
        return int.from_bytes(self.bitmap, "little")

    def _store(self, bits: int) -> None:
        self.bitmap = bits.to_bytes((bits.bit_length() + 7) // 8, "little")

    def add(self, day: int) -> bool:
        """Mark a trading day; True if it was not marked before."""
        if self.first_day is None:
            self.first_day = day
            self._store(1)
            return True
        bits = self.bits
        if day < self.first_day:
            bits <<= self.first_day - day
            self.first_day = day
        mask = 1 << (day - self.first_day)
        if bits & mask:
            return False
        self._store(bits | mask)
        return True

    @property
    def count(self) -> int:
        return self.bits.bit_count()

    def count_since(self, day: int) -> int:
        """Trading days on or after `day` (future days included)."""
        if self.first_day is None:
            return 0
        shift = day - self.first_day
        bits = self.bits
        return bits.bit_count() if shift <= 0 else (bits >> shift).bit_count()

    def bgnbd(self, today: int) -> tuple[int, int, int] | None:
        """(x, t_x, T) in days exactly as BG/NBD (and `lifetimes`) define them with daily periods.

        x: repeat trading days (distinct days after the first); t_x: days from the first to the
        last trading day; T: days from the first trading day to today.
        """
        if self.first_day is None:
            return None
        bits = self.bits
        last = self.first_day + bits.bit_length() - 1
        return bits.bit_count() - 1, last - self.first_day, max(today, last) - self.first_day
