"""System benchmark: poke, reschedule, deferrable and start_from_trigger waits on real Airflow 3.3 services."""
