"""GS1 EPCIS 2.0: validation, export of the log as EPCIS events, and import of EPCIS events."""
