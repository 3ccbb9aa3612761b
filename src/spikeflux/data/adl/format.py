"""The format of the raw UCI ADL files: their vocabularies, the time format, the channels.

Two subjects, ``"A"`` and ``"B"``; per subject a label file ``Ordonez?_ADLs.txt`` (columns
``Start time``, ``End time``, ``Activity``) and a sensor file ``Ordonez?_Sensors.txt``
(``Start time``, ``End time``, ``Location``, ``Type``, ``Place``).  Times are
``YYYY-MM-DD HH:MM:SS`` local times without a time zone (:data:`TIME_FORMAT`).  Activity,
location, type and place must be one of the names below; the parser
(:mod:`spikeflux.data.adl.parser`) refuses anything else.

The encoding (:mod:`spikeflux.data.adl.encoding`) gives one input channel per sensor
location (:data:`INPUTS`, a constant bias first) and one class per activity, plus
``Other`` for seconds that no label covers (:data:`CLASSES`).
"""

from __future__ import annotations

from datetime import timedelta

__all__ = ["LOCATIONS", "INPUTS", "ACTIVITIES", "CLASSES", "OTHER", "SENSOR_TYPES", "PLACES", "TIME_FORMAT"]

#: Sensor locations of both homes, in the order of the input channels 1..13.
LOCATIONS: tuple[str, ...] = (
    "Basin", "Bed", "Cabinet", "Cooktop", "Cupboard", "Door", "Fridge",
    "Maindoor", "Microwave", "Seat", "Shower", "Toaster", "Toilet",
)  # fmt: skip
#: The 14 input channels: a constant bias, then one channel per sensor location.
INPUTS: tuple[str, ...] = ("bias", *LOCATIONS)
#: The 10 activities of both homes (A has no Dinner rows), alphabetical.
ACTIVITIES: tuple[str, ...] = (
    "Breakfast", "Dinner", "Grooming", "Leaving", "Lunch",
    "Showering", "Sleeping", "Snack", "Spare_Time/TV", "Toileting",
)  # fmt: skip
#: The 11 classes: the activities, then ``Other`` for unlabelled seconds.
CLASSES: tuple[str, ...] = (*ACTIVITIES, "Other")
#: Class index of ``Other`` (no label covers the second).
OTHER = CLASSES.index("Other")
#: Sensor type vocabulary of the raw files.
SENSOR_TYPES: tuple[str, ...] = ("PIR", "Magnetic", "Flush", "Pressure", "Electric")
#: Place (room) vocabulary of the raw files.
PLACES: tuple[str, ...] = ("Bathroom", "Bedroom", "Entrance", "Kitchen", "Living")
#: How the raw files write a time (naive local time).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: One step of the encoding.
SECOND = timedelta(seconds=1)
