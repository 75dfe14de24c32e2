# The `commerce` and `commerce-replay` binaries on a slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p api -p replay-tools

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 commerce
COPY --from=build /src/target/release/commerce /src/target/release/commerce-replay /usr/local/bin/
USER commerce
EXPOSE 8080
ENTRYPOINT ["commerce"]
CMD ["serve"]
