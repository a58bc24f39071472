# weave-ipam in an image of one file.
#
# Build stage: Debian 12 and the README's own scripts produce a static binary.
# Final stage (the default target): FROM scratch with that binary only. It is the managed
# plugin's rootfs, and runs the daemon as a container:
#   docker run -d --network host -v /var/lib/weave-ipam:/var/lib/weave-ipam \
#     -v /run/docker/plugins:/run/docker/plugins -v /var/run/docker.sock:/var/run/docker.sock \
#     weave-ipam launch
# Where base images cannot be pulled, build the final stage from a binary made on the host
# by scripts/build-static.sh (needs BuildKit, which skips the unused build stage):
#   DOCKER_BUILDKIT=1 docker build --build-arg BINARY_FROM=prebuilt -t weave-ipam .
ARG BINARY_FROM=build

FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/setup.sh && scripts/build-static.sh

FROM scratch AS prebuilt
COPY build/static/weave-ipam /src/build/static/weave-ipam

FROM ${BINARY_FROM} AS binary

FROM scratch
COPY --from=binary /src/build/static/weave-ipam /weave-ipam
ENTRYPOINT ["/weave-ipam"]
CMD ["launch"]
