"""tierflow's Grafana dashboards as code (grafana-foundation-sdk); build_dashboards.py writes them as JSON."""
