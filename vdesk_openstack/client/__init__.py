"""The UE side: keystoneauth1 plugin ``v3aka`` with a software USIM."""
