"""Running certnet on a host: the local system (`certnet up`/`down`) and the process supervisor."""
