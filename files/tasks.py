from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from files import services


@app.task(queue="ingest", retry=RetryStrategy(max_attempts=3, wait=2))
def process_file(file_id: str) -> None:
    services.process(file_id)
