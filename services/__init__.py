"""Services: one function per action, keyword-only arguments, one transaction each.

Each loads what it needs, asks the rules, changes the models, records the step in the timeline with
its actor and time, and commits once. They are the only code that writes.
"""
