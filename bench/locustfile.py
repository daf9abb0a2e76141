"""The mixed load of a clinic at 9 a.m.: front-desk users (search, open a card, the calendar
day, slots, book) and doctors (their day, status taps). Run by bench/load.py, which logs the
sessions in beforehand and passes them in ODONTA_BENCH_POOLS (a JSON file)."""

import datetime
import itertools
import json
import os
import random
import urllib.parse

from locust import FastHttpUser, between, task

POOLS = json.loads(open(os.environ["ODONTA_BENCH_POOLS"], encoding="utf-8").read())  # noqa: SIM115
FRONT_DESK = itertools.cycle(POOLS["front_desk"])
DOCTORS = itertools.cycle(POOLS["doctors"])
NEXT = {
    "planned": "arrived",
    "confirmed": "arrived",
    "arrived": "in_chair",
    "in_chair": "completed",
}


class Session:
    def __init__(self, user: FastHttpUser, session: dict):
        self.user = user
        self.session = session
        origin = user.host.replace("http://", "https://")
        self.headers = {
            "X-Forwarded-Proto": "https",  # as the TLS proxy of a deployment says
            "Origin": origin,
            "Referer": f"{origin}/",
            "Cookie": f"sessionid={session['sessionid']}; csrftoken={session['csrftoken']}",
            "X-CSRFToken": session["csrftoken"],
        }

    def get(self, path: str, name: str):
        return self.user.client.get(path, headers=self.headers, name=name)

    def post(self, path: str, form: dict, name: str, **kwargs):
        headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}
        body = urllib.parse.urlencode(form, doseq=True)
        return self.user.client.post(path, data=body, headers=headers, name=name, **kwargs)


def day(offset: int) -> str:
    """A local date ``offset`` days from the run's today, as the calendar sends it."""
    today = datetime.date.fromisoformat(POOLS["today"])
    return (today + datetime.timedelta(days=offset)).isoformat()


class FrontDesk(FastHttpUser):
    weight = 3
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.session = next(FRONT_DESK)
        self.http = Session(self, self.session)
        self.rng = random.Random()

    @task(3)
    def search_name(self) -> None:
        query = urllib.parse.quote(self.rng.choice(POOLS["names"]))
        self.http.get(f"/patients/search/?q={query}", "search: name")

    @task(2)
    def search_phone(self) -> None:
        query = urllib.parse.quote(self.rng.choice(POOLS["phones"]))
        self.http.get(f"/patients/search/?q={query}", "search: phone")

    @task(1)
    def patient_list(self) -> None:
        query = urllib.parse.quote(self.rng.choice(POOLS["names"]))
        self.http.get(f"/patients/?q={query}", "patient list")

    @task(3)
    def open_card(self) -> None:
        self.http.get(f"/patients/{self.rng.choice(POOLS['patients'])}/", "patient card")

    @task(3)
    def calendar_day(self) -> None:
        branch = self.session["branch"]
        offset = self.rng.randint(-7, 7)
        start, end = day(offset), day(offset + 1)
        self.http.get(f"/calendar/feed/resources/?branch={branch}", "calendar: resources")
        self.http.get(
            f"/calendar/feed/events/?branch={branch}&start={start}&end={end}", "calendar: events"
        )

    @task(1)
    def slots_doctor(self) -> None:
        doctor = self.rng.choice(self.session["doctors"])
        start = self.rng.randint(0, 7)
        self.http.get(
            f"/api/v1/slots?doctor={doctor}&date_from={day(start)}&date_to={day(start + 13)}"
            "&duration=30",
            "slots: doctor, 14 days",
        )

    @task(1)
    def slots_branch(self) -> None:
        start = self.rng.randint(0, 7)
        self.http.get(
            f"/api/v1/slots?branch={self.session['branch']}&date_from={day(start)}"
            f"&date_to={day(start + 6)}&duration=30",
            "slots: branch, 7 days",
        )

    @task(1)
    def book(self) -> None:
        doctor = self.rng.choice(self.session["doctors"])
        start = self.rng.randint(1, 10)
        response = self.http.get(
            f"/api/v1/slots?doctor={doctor}&date_from={day(start)}&date_to={day(start + 3)}"
            "&duration=30&limit=40",
            "book: find a slot",
        )
        if response.status_code != 200 or not response.json():
            return
        slot = self.rng.choice(response.json())
        local = slot["start"][:16]
        form = {
            "patient": self.rng.choice(POOLS["patients"]),
            "doctor": slot["doctor_id"],
            "chair": slot["chair_id"],
            "date": local[:10],
            "time": local[11:16],
            "duration_minutes": 30,
            "services": [self.rng.choice(POOLS["services"])],
            "note": "load test",
        }
        path = f"/calendar/appointments/new/?branch={self.session['branch']}"
        with self.http.post(path, form, "book: POST", catch_response=True) as answer:
            if answer.status_code == 204:
                answer.success()
            elif answer.status_code == 422 and "taken" in answer.text.lower():
                # Another user took the time between the search and the click: the booking
                # is refused as it must be. Counted apart, not as an error.
                answer.success()
                self.environment.events.request.fire(
                    request_type="POST",
                    name="book: slot taken meanwhile",
                    response_time=0,
                    response_length=0,
                    exception=None,
                    context={},
                )
            else:
                answer.failure(f"booking answered {answer.status_code}")


class Doctor(FastHttpUser):
    weight = 1
    wait_time = between(3, 8)

    def on_start(self) -> None:
        self.session = next(DOCTORS)
        self.http = Session(self, self.session)
        self.rng = random.Random()
        self.taps = [list(tap) for tap in self.session["taps"]]

    @task(4)
    def my_day(self) -> None:
        self.http.get(f"/schedule/?date={day(self.rng.randint(-3, 3))}", "schedule: my day")

    @task(1)
    def status_tap(self) -> None:
        while self.taps and self.taps[0][1] not in NEXT:
            self.taps.pop(0)
        if not self.taps:
            return
        visit = self.taps[0]
        status = NEXT[visit[1]]
        response = self.http.post(
            f"/schedule/appointments/{visit[0]}/status/", {"status": status}, "schedule: status tap"
        )
        if response.status_code == 204:
            visit[1] = status
        else:
            self.taps.pop(0)
