"""The domain core: what the log's events mean — batches, lineage, custody, rules and alerts.

Tables beside the log (`organisations`, `sites`, `batches`, `lineage`, `units`,
`batch_events`, `shipments`, `alerts`, …) are indexes rebuilt from the log by `reindex`.
Start at `service.Domain` (recording); the indexes are read by one module per concept:
`batches`, `units`, `history`, `lineage`, `alerts`, `organisations`, `sites`, `recalls`.
"""
