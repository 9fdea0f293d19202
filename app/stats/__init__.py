"""The figures that steer the service, their CSV export and page, and the metrics."""
