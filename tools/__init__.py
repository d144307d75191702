"""Developer tools, not pipeline stages: generated docs and schema (paramdoc), dvc.yaml's code deps
(deps), and a report comparing experiments (report)."""
