"""What the engines return (results, traces, verdicts) and how it is shown: tables, JSON, ITF, pictures."""
