"""Pools of Faker values, built once per seed.

Faker costs tens of microseconds per call; drawing from pre-built pools with a seeded RNG
keeps generation fast while the values stay Faker-realistic. A pool is a pure function of
the seed (and the Faker version, which the run manifest records).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

_SYSTEM_TEMPLATES = (
    "Hi {first}, thanks for applying for the {job} role at {company}. Do you have a few minutes "
    "to answer some questions?",
    "Great, {first}. How many years of experience do you have as a {job}?",
    "Thanks! Are you available to start within the next {weeks} weeks?",
    "The role is based in {city}. Would you be able to commute there {days} days a week?",
    "What are your salary expectations for this position?",
    "Could you tell me about a project you are proud of?",
    "Thank you, {first}. I have shared your answers with the hiring team at {company}.",
    "Would {day} at {hour}:00 work for a call with the hiring manager?",
)


@dataclass(frozen=True)
class Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    email_domains: tuple[str, ...]
    system_messages: tuple[str, ...]
    candidate_sentences: tuple[str, ...]  # candidates' messages are composed from these


@lru_cache(maxsize=4)
def pools_for(seed: int, size: int = 400) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    first = tuple(fake.unique.first_name() for _ in range(size // 2))
    last = tuple(fake.unique.last_name() for _ in range(size // 2))
    domains = tuple(fake.unique.free_email_domain() for _ in range(3)) + tuple(
        fake.unique.domain_name() for _ in range(12))
    system = tuple(
        fake.random_element(_SYSTEM_TEMPLATES).format(
            first=fake.random_element(first), job=fake.job(), company=fake.company(),
            city=fake.city(), weeks=fake.random_int(1, 8), days=fake.random_int(1, 5),
            day=fake.day_of_week(), hour=fake.random_int(9, 17))
        for _ in range(size))
    sentences = tuple(fake.sentence(nb_words=fake.random_int(3, 18)) for _ in range(2 * size))
    return Pools(first, last, domains, system, sentences)
