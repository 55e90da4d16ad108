from tierflow_cli.main import app

app()
