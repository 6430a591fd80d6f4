"""Synthetic residents: realistic Japanese names with kana, addresses and birth dates.

Used by the demo, the simulated business systems, the tests and the benchmarks. The individual
numbers are random but carry a valid check digit; none is a real person's.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from faker import Faker

from primitives.numbers import individual_number_complete

YOKOHAMA_WARDS = (
    "鶴見区", "神奈川区", "西区", "中区", "南区", "保土ケ谷区", "磯子区", "金沢区", "港北区",
    "戸塚区", "港南区", "旭区", "緑区", "瀬谷区", "栄区", "泉区", "青葉区", "都筑区",
)  # fmt: skip


RELATIONSHIPS = ("世帯主", "妻", "夫", "子", "母", "父", "孫")
BENEFITS = ("児童手当", "生活保護", "障害福祉サービス", "介護保険給付", "児童扶養手当")


@dataclass(frozen=True)
class Resident:
    individual_number: str
    name: str
    name_kana: str
    birth_date: datetime.date
    sex: str
    address: str

    def as_person(self) -> dict[str, Any]:
        """The `person` object of an address change (SPEC section 7)."""
        return {
            "name": self.name,
            "name_kana": self.name_kana,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "address": self.address,
        }


class ResidentGenerator:
    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)  # noqa: S311 (synthetic data, not security)
        self.faker = Faker("ja_JP")
        self.faker.seed_instance(seed)

    def individual_number(self) -> str:
        return individual_number_complete(f"{self.random.randrange(10**10, 10**11):011d}")

    def address(self) -> str:
        ward = self.random.choice(YOKOHAMA_WARDS)
        chome, ban, gou = (self.random.randint(1, n) for n in (9, 30, 20))
        return f"神奈川県横浜市{ward}{self.faker.town()}{chome}丁目{ban}番{gou}号"

    def resident(self) -> Resident:
        sex = self.random.choice(("1", "2"))
        last, last_kana, _ = self.faker.last_name_pair()
        if sex == "1":
            first, first_kana, _ = self.faker.first_name_male_pair()
        else:
            first, first_kana, _ = self.faker.first_name_female_pair()
        return Resident(
            individual_number=self.individual_number(),
            name=f"{last}　{first}",
            name_kana=f"{last_kana}　{first_kana}",
            birth_date=self.faker.date_of_birth(minimum_age=0, maximum_age=100),
            sex=sex,
            address=self.address(),
        )

    def moved(self, resident: Resident) -> Resident:
        """The same resident after moving house."""
        return Resident(**{**resident.__dict__, "address": self.address()})

    def business_items(self, number_system: str, resident: Resident) -> dict[str, Any]:
        """Plausible business items of the system's table (21, 23, 25 or 27)."""
        today = timezone.localdate()
        since = self.faker.date_between(start_date=resident.birth_date, end_date=today)
        if number_system == "01":
            return {
                "household_number": f"{self.random.randrange(10**6, 10**7)}",
                "relationship": self.random.choice(RELATIONSHIPS),
                "moved_in_on": since,
            }
        if number_system == "02":
            income = self.random.randrange(0, 9_000_000, 1000)
            return {
                "fiscal_year": today.year,
                "income_amount": income,
                "tax_amount": income // 10,
            }
        if number_system == "03":
            return {
                "insured_number": f"{self.random.randrange(10**7, 10**8)}",
                "acquired_on": since,
            }
        if number_system == "04":
            return {
                "benefit_type": self.random.choice(BENEFITS),
                "started_on": since,
                "amount": self.random.randrange(5_000, 150_000, 500),
            }
        raise ValueError(f"no business table for number system {number_system}")
