"""Non-UI logic of the Streamlit report viewer (ui/app.py): run folders, tables, charts, reader studies.

Kept apart from the pages so that it is unit-testable without a browser or a Streamlit session.
"""
