"""Pure rules of the law: no I/O, no clock, no database.

Nothing here imports sqlmodel, sqlalchemy, boto3, prefect or streamlit (a test checks it).
"""
