#!/usr/bin/env python3
"""Sets each country's tax rates from a configuration file (config/eu-tax-rates.json)
through the API: one POST /commands/tax-rates/{country}/set per country.

    scripts/load-tax-rates.py config/eu-tax-rates.json [API_URL] 

The admin's bearer token is read from the ADMIN_TOKEN environment variable
(`commerce token --sub ops --role admin`, with the server's JWT_SECRET); it is never printed."""

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    api = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080"
    token = os.environ.get("ADMIN_TOKEN")
    if not token:
        print("set ADMIN_TOKEN to an admin's bearer token", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as file:
        countries = json.load(file)["countries"]
    for country, rates in sorted(countries.items()):
        request = urllib.request.Request(
            f"{api}/commands/tax-rates/{country}/set",
            data=json.dumps({"rates": rates}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request) as answer:
                print(f"{country}: version {json.load(answer)['version']}")
        except urllib.error.HTTPError as error:
            print(f"{country}: {error.code} {error.read().decode()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
