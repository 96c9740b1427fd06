# Builds every CRM executable; one image serves all services (the command picks the service).
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends librdkafka-dev libssl-dev libsqlite3-dev libjemalloc-dev pkg-config python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Shared Shared
COPY Services Services
COPY Tests Tests
COPY scripts/build-release scripts/build-release
RUN scripts/build-release --static-swift-stdlib
# The executables and their resource bundles (the OpenAPI documents), which Bundle.module looks
# for beside the executable. A failed build or copy fails the image.
RUN bin="$(swift build -c release --show-bin-path)" && mkdir /out && cp "$bin"/crm* /out/ \
    && for bundle in "$bin"/*.resources; do if [ -e "$bundle" ]; then cp -r "$bundle" /out/; fi; done

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends librdkafka1 libssl3 libcurl4 libsqlite3-0 libjemalloc2 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/crm crm && mkdir -p /var/lib/crm && chown crm /var/lib/crm
COPY --from=build /out/ /usr/local/bin/
COPY topics /etc/crm/topics
USER crm
ENV CRM_DATA_DIR=/var/lib/crm CRM_HTTP_HOST=0.0.0.0
VOLUME /var/lib/crm
ENTRYPOINT []
CMD ["crm-contacts"]
