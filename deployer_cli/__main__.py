from deployer_cli.main import app

app(prog_name="deployer")
