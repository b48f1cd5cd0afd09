"""What the directory gives back: feeds other apps read (Meeting Guide JSON).
Calendar files live in `meetings/calendars.py`."""
