"""`deployer`: Deployer's command line, a client of its REST API (/api/v1/) and nothing else."""
