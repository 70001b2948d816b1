#!/usr/bin/env python3
"""moto 5.2.5 in server mode, plus the few test-only extensions fargate-preflight needs.

Usage: python server.py [--port N]   (0, the default, picks a free port)

Prints exactly one line on stdout, `READY http://127.0.0.1:PORT`, once the server answers
`GET /moto-api/`, then serves until its stdin reaches EOF (so it dies with the test process
that holds the other end of the pipe) or it gets SIGTERM/SIGINT.

Extensions (each one follows the AWS API reference, not what our code expects):
  * ECS CreateService keeps healthCheckGracePeriodSeconds and enableExecuteCommand, and fills
    platformVersion=LATEST (FARGATE launch type) and awsvpcConfiguration.assignPublicIp=DISABLED
    when they are absent, as AWS does.
  * ECR Create/Describe/DeletePullThroughCacheRule (moto answers HTTP 500).
  * ECS DescribeClusters returns `configuration` only with include=CONFIGURATIONS.
  * ECR images, per the ECR API reference: DescribeImages reports imageStatus and
    imageSizeInBytes (the layers' compressed sizes; for an index its largest image) and, unless
    filter.imageStatus says otherwise, answers only ACTIVE images; UpdateImageStorageClass
    archives and restores; CompleteLayerUpload keeps the blob and GetDownloadUrlForLayer
    returns a pre-signed-style URL on this server that serves it (GET /_fp/blob/TOKEN);
    BatchGetImage failures name the image id as requested.
  * The fault injection and the request log know EFS's REST operations by method and path,
    and S3's path-style HeadObject, GetObject, GetBucketLocation (denied as S3 answers: 403 with
    its XML error document, none for a HEAD).
  * CloudWatch GetMetricData over the RPC v2 CBOR protocol the Rust SDK speaks (moto lacks it),
    from moto's metrics; POST /_fp/fargate-usage {"region", "vcpus", "class"?} publishes the
    AWS/Usage vCPU count Fargate itself would.
  * Service Quotas GetServiceQuota / GetAWSDefaultServiceQuota for Fargate's vCPU quotas;
    POST /_fp/service-quota {"region", "quota_code", "value"} applies a value.
  * ECS CreateService keeps deploymentConfiguration and DescribeServices returns it, with
    AWS's defaults where it was not given.
  * ECS ListTasks filters by serviceName (the tasks' group `service:NAME`).
  * POST /_fp/ecs/stop-task {"region", "cluster", "task", "stopped_reason", "stop_code"?}: the
    task stops as ECS stops a failed task (StopTask itself records UserInitiated).
  * POST /_fp/ecs/service-event {"region", "cluster", "service", "message"}: ECS writes that
    service event.
  * ECS ListServices pages (maxResults 1-100, default 10, nextToken), as the API reference says.
  * IPv6-only subnets answer their IPv6 CIDR block state and (no) free IPv4 addresses as the
    EC2 API reference says; CreateVpcEndpoint keeps IpAddressType and DnsOptions.
  * GET /_fp/requests?access_key_id=AKIA...: how many requests of each action that key made
    (reset clears it), to cross-check the tool's own call counts.
  * POST /_fp/deny {"access_key_id": "...", "actions": ["ec2:DescribeVpcEndpoints", ...]}:
    later requests signed with that access key id for a listed action get the permission error
    AWS returns for that protocol. Action patterns may use IAM-style `*` wildcards.
  * POST /_fp/throttle {"access_key_id": "...", "first": N, "actions": [...] (optional)}: that
    key's first N requests of every action (or of the listed ones) get the protocol's throttling
    error: EC2 `RequestLimitExceeded` (HTTP 503,
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), ECS/ECR
    `ThrottlingException` (HTTP 400, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html),
    IAM/ELB `Throttling` (HTTP 400, https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html).
  * POST /_fp/delay {"access_key_id": "...", "ms": N}: every later answer to that key waits N ms
    (a fixed round trip); GET /_fp/arrivals?access_key_id=... lists [seconds, action] of each of
    its requests in arrival order.
State of the ECS/ECR extensions lives on moto's own per-account/per-region backend objects, so
`POST /moto-api/reset` clears it; the deny list is cleared by the same reset.
"""

import argparse
import copy
import os
import signal
import sys

# Must be set before moto is imported: it is read at import time.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

import fnmatch  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402
from xml.sax.saxutils import escape as xml_escape  # noqa: E402

import moto.moto_server.threaded_moto_server as threaded_moto_server  # noqa: E402
from moto.core.exceptions import ServiceException  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.ecr.responses import ECRResponse  # noqa: E402
from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.servicequotas.exceptions import NoSuchResource  # noqa: E402
from moto.servicequotas.responses import ServiceQuotasResponse  # noqa: E402

import cbor2  # noqa: E402

DENIED_PRINCIPAL = "arn:aws:iam::123456789012:user/test"
# The account moto answers as for any access key.
DEFAULT_ACCOUNT = "123456789012"

# --------------------------------------------------------------------------------------------
# a. ECS CreateService: keep/fill the fields AWS keeps/fills.
# moto's Service model is serialized attribute by attribute (snake_case of the API member name),
# and UpdateService already stores these attributes the same way, so setting them is enough.
# --------------------------------------------------------------------------------------------
_moto_create_service = EC2ContainerServiceResponse.create_service

# ECS ListServices pages as the API reference says: maxResults 1-100, default 10, and a
# nextToken while more remain (moto returns every service at once).
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html
_moto_list_services = EC2ContainerServiceResponse.list_services


class EcsInvalidParameterException(ServiceException):
    code = "InvalidParameterException"

LIST_SERVICES_DEFAULT_PAGE = 10
LIST_SERVICES_MAX_PAGE = 100


def _list_services(self):
    arns = _moto_list_services(self).result["serviceArns"]
    size = int(self._get_param("maxResults") or LIST_SERVICES_DEFAULT_PAGE)
    if not 1 <= size <= LIST_SERVICES_MAX_PAGE:
        raise EcsInvalidParameterException("maxResults must be between 1 and 100")
    start = int(self._get_param("nextToken") or 0)
    page = {"serviceArns": arns[start:start + size]}
    if start + size < len(arns):
        page["nextToken"] = str(start + size)
    return ActionResult(page)


EC2ContainerServiceResponse.list_services = _list_services

# What LATEST resolves to for Linux on Fargate; AWS reports it on the deployment.
FARGATE_LINUX_LATEST = "1.4.0"


def _create_service(self):
    result = _moto_create_service(self)
    service = result.result["service"]

    grace = self._get_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        service.health_check_grace_period_seconds = int(grace)
    # AWS always reports the flag, false unless it was enabled.
    service.enable_execute_command = bool(self._get_param("enableExecuteCommand", False))
    # AWS reports the deployment configuration with its documented defaults (maximumPercent 200,
    # minimumHealthyPercent 100, the circuit breaker off); moto drops it. UpdateService sets it
    # through moto's generic attribute update.
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
    service.deployment_configuration = {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        **(self._get_param("deploymentConfiguration") or {}),
    }

    if service.launch_type == "FARGATE" and not service.platform_version:
        service.platform_version = "LATEST"
        for deployment in service.deployments:
            if not deployment.get("platformVersion"):
                deployment["platformVersion"] = FARGATE_LINUX_LATEST

    # The deployments share this dict with the service, so both get the default.
    awsvpc = (service.network_configuration or {}).get("awsvpcConfiguration")
    if awsvpc is not None and not awsvpc.get("assignPublicIp"):
        awsvpc["assignPublicIp"] = "DISABLED"
    return result


EC2ContainerServiceResponse.create_service = _create_service

# ECS DescribeClusters returns a cluster's configuration (executeCommandConfiguration) only
# when `include` names CONFIGURATIONS; moto always returns it.
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeClusters.html
_moto_describe_clusters = EC2ContainerServiceResponse.describe_clusters
DESCRIBE_CLUSTERS_CONFIGURATION = "DescribeClustersResponse.clusters.Cluster.configuration"


def _describe_clusters(self):
    if "CONFIGURATIONS" in (self._get_param("include") or []):
        self._include_in_response(DESCRIBE_CLUSTERS_CONFIGURATION)
    else:
        self._exclude_from_response(DESCRIBE_CLUSTERS_CONFIGURATION)
    return _moto_describe_clusters(self)


EC2ContainerServiceResponse.describe_clusters = _describe_clusters


# ECS ListTasks with serviceName "limits the results to tasks that belong to that service";
# a service's tasks carry the group `service:NAME` (moto ignores the filter).
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
def _list_tasks(self):
    tasks = self.ecs_backend.list_tasks(
        self._get_param("cluster", "default"),
        self._get_param("containerInstance"),
        self._get_param("family"),
        self._get_param("startedBy"),
        None,
        self._get_param("desiredStatus"),
    )
    service = self._get_param("serviceName")
    if service:
        service = service.rsplit("/", 1)[-1]
        tasks = [t for t in tasks if getattr(t, "group", None) == f"service:{service}"]
    return ActionResult({"taskArns": [t.task_arn for t in tasks]})


EC2ContainerServiceResponse.list_tasks = _list_tasks


def _ecs_backend(spec):
    from moto.ecs.models import ecs_backends  # noqa: PLC0415 (moto is imported above)

    return ecs_backends[spec.get("account", "123456789012")][spec["region"]]


def stop_task_as_ecs(spec):
    """What ECS itself does when a task fails: the task stops with a stop code and a reason
    (StopTask, the API, always records UserInitiated). Task fields per the Task data type:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html"""
    backend = _ecs_backend(spec)
    for task in backend.tasks.get(spec["cluster"], {}).values():
        if task.task_arn == spec["task"] or task.task_arn.endswith("/" + spec["task"]):
            task.last_status = task.desired_status = "STOPPED"
            task.stop_code = spec.get("stop_code", "TaskFailedToStart")
            task.stopped_reason = spec["stopped_reason"]
            task.stopped_at = datetime.now(timezone.utc)
            return {"task": task.task_arn}
    raise ValueError(f"no task {spec['task']} in cluster {spec['cluster']}")


def add_service_event(spec):
    """A service event as ECS writes them (ServiceEvent: id, createdAt, message), newest first:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceEvent.html"""
    backend = _ecs_backend(spec)
    for service in backend.services.values():
        if service.cluster_name == spec["cluster"] and service.name == spec["service"]:
            event = {"id": str(uuid.uuid4()), "createdAt": datetime.now(timezone.utc),
                     "message": spec["message"]}
            service.events.insert(0, event)
            return {"id": event["id"]}
    raise ValueError(f"no service {spec['service']} in cluster {spec['cluster']}")


AWS_CONTROLS = {"/_fp/ecs/stop-task": stop_task_as_ecs, "/_fp/ecs/service-event": add_service_event}


# --------------------------------------------------------------------------------------------
# b. ECR pull through cache rules, per the ECR API reference.
# Rules are kept on moto's ECR backend object (one per account and region), which moto rebuilds
# from scratch on reset.
# --------------------------------------------------------------------------------------------
class PullThroughCacheRuleAlreadyExistsException(ServiceException):
    code = "PullThroughCacheRuleAlreadyExistsException"


class PullThroughCacheRuleNotFoundException(ServiceException):
    code = "PullThroughCacheRuleNotFoundException"


class EcrInvalidParameterException(ServiceException):
    code = "InvalidParameterException"


PTC_PREFIX_RE = re.compile(
    r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$"
)

# Registry URL syntax per upstream registry, from the CreatePullThroughCacheRule reference.
UPSTREAM_BY_URL = [
    (re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"), "ecr"),
    (re.compile(r"^public\.ecr\.aws$"), "ecr-public"),
    (re.compile(r"^registry-1\.docker\.io$"), "docker-hub"),
    (re.compile(r"^ghcr\.io$"), "github-container-registry"),
    (re.compile(r"^registry\.gitlab\.com$"), "gitlab-container-registry"),
    (re.compile(r"^registry\.k8s\.io$"), "k8s"),
    (re.compile(r"^[a-z0-9-]+\.azurecr\.io$"), "azure-container-registry"),
    (re.compile(r"^quay\.io$"), "quay"),
    (re.compile(r"^cgr\.dev$"), "chainguard"),
]


def _ptc_rules(response):
    backend = response.ecr_backend
    rules = getattr(backend, "fp_pull_through_cache_rules", None)
    if rules is None:
        rules = {}
        backend.fp_pull_through_cache_rules = rules
    return rules


def _ptc_prefix(value):
    if value is None or not (2 <= len(value) <= 30) or not PTC_PREFIX_RE.match(value):
        raise EcrInvalidParameterException(
            f"Invalid parameter at 'ecrRepositoryPrefix' failed to satisfy constraint: "
            f"'must satisfy regular expression '{PTC_PREFIX_RE.pattern}''"
        )
    # "There is always an assumed / applied to the end of the prefix."
    return value.rstrip("/") if value != "ROOT" else value


def _ptc_not_found(prefix, registry_id):
    return PullThroughCacheRuleNotFoundException(
        f"The pull through cache rule with prefix '{prefix}' does not exist "
        f"in the registry with id '{registry_id}'"
    )


def _ptc_registry(response):
    return response._get_param("registryId") or response.current_account


def create_pull_through_cache_rule(self):
    rules = _ptc_rules(self)
    registry_id = _ptc_registry(self)
    prefix = _ptc_prefix(self._get_param("ecrRepositoryPrefix"))
    url = self._get_param("upstreamRegistryUrl")
    if not url:
        raise EcrInvalidParameterException("upstreamRegistryUrl must not be empty")
    if prefix in rules:
        raise PullThroughCacheRuleAlreadyExistsException(
            f"The pull through cache rule with prefix '{prefix}' already exists "
            f"in the registry with id '{registry_id}'"
        )
    upstream = self._get_param("upstreamRegistry")
    if upstream is None:
        upstream = next((name for rx, name in UPSTREAM_BY_URL if rx.match(url)), None)
    now = datetime.now(timezone.utc)
    rule = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": url,
        "createdAt": now,
        "updatedAt": now,
        "registryId": registry_id,
        "upstreamRegistry": upstream,
        "credentialArn": self._get_param("credentialArn"),
        "customRoleArn": self._get_param("customRoleArn"),
        # "When this field isn't specified, Amazon ECR will use the ROOT."
        "upstreamRepositoryPrefix": self._get_param("upstreamRepositoryPrefix") or "ROOT",
    }
    rules[prefix] = {k: v for k, v in rule.items() if v is not None}
    created = dict(rules[prefix])
    created.pop("updatedAt", None)  # not a member of CreatePullThroughCacheRuleResponse
    return ActionResult(created)


def describe_pull_through_cache_rules(self):
    rules = _ptc_rules(self)
    registry_id = _ptc_registry(self)
    wanted = self._get_param("ecrRepositoryPrefixes")
    if wanted:
        out = []
        for raw in wanted:
            prefix = _ptc_prefix(raw)
            if prefix not in rules:
                raise _ptc_not_found(prefix, registry_id)
            out.append(rules[prefix])
    else:
        out = list(rules.values())
    return ActionResult({"pullThroughCacheRules": out})


def delete_pull_through_cache_rule(self):
    rules = _ptc_rules(self)
    registry_id = _ptc_registry(self)
    prefix = _ptc_prefix(self._get_param("ecrRepositoryPrefix"))
    if prefix not in rules:
        raise _ptc_not_found(prefix, registry_id)
    deleted = rules.pop(prefix)
    deleted.pop("updatedAt", None)  # not a member of DeletePullThroughCacheRuleResponse
    return ActionResult(deleted)


ECRResponse.create_pull_through_cache_rule = create_pull_through_cache_rule
ECRResponse.describe_pull_through_cache_rules = describe_pull_through_cache_rules
ECRResponse.delete_pull_through_cache_rule = delete_pull_through_cache_rule


# --------------------------------------------------------------------------------------------
# b2. ECR images: status, size, archive, and the blob download URL moto lacks.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImagesFilter.html
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateImageStorageClass.html
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html
# --------------------------------------------------------------------------------------------
from moto.ecr.exceptions import ImageNotFoundException  # noqa: E402
from moto.ecr.models import ECRBackend, Image  # noqa: E402


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


BLOBS = {}  # token -> bytes, served at /_fp/blob/TOKEN
BLOBS_LOCK = threading.Lock()


def _image_status(self):
    return getattr(self, "fp_status", "ACTIVE")


def _image_size(self):
    """imageSizeInBytes: "the size, in bytes, of the image in the repository. If the image is a
    manifest list, this will be the max size of all manifests in the list" (ImageDetail)."""
    manifest = json.loads(self.image_manifest)
    if "layers" in manifest:
        return sum(int(layer.get("size", 0)) for layer in manifest["layers"])
    children = {m.get("digest") for m in manifest.get("manifests", [])}
    repository = getattr(self, "fp_repository", None)
    sizes = [i.get_image_size_in_bytes() for i in (repository.images if repository else [])
             if i.get_image_digest() in children and i is not self]
    sizes = [s for s in sizes if s is not None]
    return max(sizes) if sizes else None


Image.image_status = property(_image_status)
Image.last_archived_at = property(lambda self: getattr(self, "fp_archived_at", None))
Image.get_image_size_in_bytes = _image_size

_moto_complete_layer_upload = ECRBackend.complete_layer_upload
_moto_put_image = ECRBackend.put_image


def _complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id=None):
    repository = self._get_repository(repository_name, registry_id)
    upload = repository.uploads.get(upload_id)
    data = bytes(upload.layer_parts) if upload is not None else b""
    result = _moto_complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id)
    blobs = getattr(repository, "fp_blobs", None)
    if blobs is None:
        blobs = repository.fp_blobs = {}
    blobs[result["layerDigest"]] = data
    return result


def _put_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype=None, digest=None):
    image = _moto_put_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest)
    image.fp_repository = self.repositories[repository_name]
    return image


ECRBackend.complete_layer_upload = _complete_layer_upload
ECRBackend.put_image = _put_image


def _status_filter(response):
    wanted = ((response._get_param("filter") or {}).get("imageStatus") or "ACTIVE").upper()
    return lambda image: wanted == "ANY" or image.image_status == wanted


def describe_images(self):
    repository_name = self._get_param("repositoryName")
    registry_id = self._get_param("registryId")
    image_ids = self._get_param("imageIds")
    keep = _status_filter(self)
    repository = self.ecr_backend._get_repository(repository_name, registry_id)
    if image_ids:
        images = []
        for image_id in image_ids:
            image = repository._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
            if not keep(image):
                raise ImageNotFoundException(
                    image_id=json.dumps(image_id), repository_name=repository_name,
                    registry_id=repository.registry_id)
            if image not in images:
                images.append(image)
    else:
        images = [i for i in repository.images if keep(i)]
    details = []
    for image in images:
        detail = copy.copy(image)
        if not detail.image_tags:
            del detail.image_tags  # AWS leaves out an empty imageTags
        details.append(detail)
    return ActionResult({"imageDetails": details})


def update_image_storage_class(self):
    repository_name = self._get_param("repositoryName")
    registry_id = self._get_param("registryId")
    image_id = self._get_param("imageId") or {}
    target = self._get_param("targetStorageClass")
    if target not in ("STANDARD", "ARCHIVE"):
        raise EcrInvalidParameterException("targetStorageClass must be STANDARD or ARCHIVE")
    repository = self.ecr_backend._get_repository(repository_name, registry_id)
    image = repository._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
    if target == "ARCHIVE":
        image.fp_status = "ARCHIVED"
        image.fp_archived_at = datetime.now(timezone.utc)
    elif image.image_status == "ARCHIVED":
        # Restoring is asynchronous: the image is ACTIVATING until it is back.
        image.fp_status = "ACTIVATING"
    return ActionResult({
        "registryId": repository.registry_id, "repositoryName": repository_name,
        "imageId": {"imageDigest": image.get_image_digest(), **({"imageTag": image_id["imageTag"]} if "imageTag" in image_id else {})},
        "imageStatus": image.image_status,
    })


def get_download_url_for_layer(self):
    repository_name = self._get_param("repositoryName")
    registry_id = self._get_param("registryId")
    digest = self._get_param("layerDigest")
    repository = self.ecr_backend._get_repository(repository_name, registry_id)
    data = getattr(repository, "fp_blobs", {}).get(digest)
    if data is None:
        raise LayersNotFoundException(
            "The specified layers could not be found, or the specified layer is not valid for this repository.")
    token = uuid.uuid4().hex
    with BLOBS_LOCK:
        BLOBS[token] = data
    host = self.headers.get("Host", "127.0.0.1")
    # A pre-signed URL: anyone holding it may GET it, no AWS signature needed.
    return ActionResult({
        "downloadUrl": f"http://{host}/_fp/blob/{token}?X-Amz-Expires=3600",
        "layerDigest": digest,
    })


def batch_get_image(self):
    """moto's answer, with each failure naming the image id as requested (moto writes
    {"imageTag": "null"} for a digest), as ImageFailure.imageId does."""
    result = self.ecr_backend.batch_get_image(
        self._get_param("repositoryName"), self._get_param("registryId"), self._get_param("imageIds"))
    failures = []
    for image_id in self._get_param("imageIds") or []:
        found = any(
            image.get_image_digest() == image_id.get("imageDigest")
            or image_id.get("imageTag") in image.image_tags
            for image in result["images"])
        if not found:
            failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                             "failureReason": "Requested image not found"})
    return ActionResult({"images": result["images"], "failures": failures})


ECRResponse.describe_images = describe_images
ECRResponse.batch_get_image = batch_get_image
ECRResponse.update_image_storage_class = update_image_storage_class
ECRResponse.get_download_url_for_layer = get_download_url_for_layer


# --------------------------------------------------------------------------------------------
# c. Permission-denied fault injection, as WSGI middleware around moto's dispatcher.
# --------------------------------------------------------------------------------------------
CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/,\s]+)/")

XML_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
}


# The REST operations the tool calls, by method and path (EFS API reference, each
# operation's "Request Syntax": https://docs.aws.amazon.com/efs/latest/ug/API_Operations.html).
REST_ROUTES = {
    "elasticfilesystem": [
        ("GET", re.compile(r"/2015-02-01/file-systems/[^/]+/policy"), "DescribeFileSystemPolicy"),
        ("GET", re.compile(r"/2015-02-01/file-systems/?"), "DescribeFileSystems"),
        ("GET", re.compile(r"/2015-02-01/mount-targets/[^/]+/security-groups"),
         "DescribeMountTargetSecurityGroups"),
        ("GET", re.compile(r"/2015-02-01/mount-targets/?"), "DescribeMountTargets"),
        ("GET", re.compile(r"/2015-02-01/access-points/?"), "DescribeAccessPoints"),
    ],
}


# --------------------------------------------------------------------------------------------
# CloudWatch over the Smithy RPC v2 CBOR protocol, which the Rust SDK speaks and moto does not:
# POST /service/GraniteServiceVersion20100801/operation/OPERATION with a CBOR body, answered in
# CBOR with the `smithy-protocol: rpc-v2-cbor` header; errors carry `__type`.
# https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
# GetMetricData is answered from moto's CloudWatch backend, as its query protocol would be.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
# --------------------------------------------------------------------------------------------
RPC_V2_PATH = re.compile(r"/service/[A-Za-z0-9]+/operation/([A-Za-z0-9]+)")
# The signing name of CloudWatch is `monitoring`; IAM calls its actions `cloudwatch:`.
IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}
CREDENTIAL_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/[^/]+/([^/,\s]+)/")


def _s3_action(environ):
    """The S3 REST operation of a path-style request, for the ones the tool and the scenarios
    make (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html)."""
    method = environ.get("REQUEST_METHOD", "GET")
    bucket, _, key = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not bucket:
        return None
    if key:
        return {"HEAD": "HeadObject", "GET": "GetObject", "PUT": "PutObject"}.get(method)
    if method == "GET" and "location" in query:
        return "GetBucketLocation"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket"}.get(method)


def _cbor_answer(start_response, status, document, request_id=None):
    # Smithy RPC v2 CBOR timestamps are tag 1, epoch seconds.
    body = cbor2.dumps(document, datetime_as_timestamp=True)
    headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
               ("x-amzn-RequestId", request_id or str(uuid.uuid4())),
               ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def _as_datetime(value):
    # CBOR timestamps are tag 1 (epoch seconds), which cbor2 decodes to datetime.
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def _put_metrics_only(backend):
    # moto adds metrics it computes by walking other services' backends (AWS/S3, AWS/SQS…);
    # that walk races the requests that change them, and the tool reads only what was put
    # (AWS/Usage, published by /_fp/fargate-usage).
    return list(backend.metric_data)


def cbor_get_metric_data(environ, start_response):
    from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends  # noqa: PLC0415

    CloudWatchBackend.get_all_metrics = _put_metrics_only

    region = CREDENTIAL_SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", "")).group(1)
    request = cbor2.loads(_read_body(environ) or b"\xa0")
    backend = cloudwatch_backends[DEFAULT_ACCOUNT][region]
    results = backend.get_metric_data(
        queries=request.get("MetricDataQueries", []),
        start_time=_as_datetime(request["StartTime"]),
        end_time=_as_datetime(request["EndTime"]),
        scan_by=request.get("ScanBy") or "TimestampDescending",
    )
    return _cbor_answer(start_response, "200 OK", {"MetricDataResults": [
        {"Id": r["id"], "Label": r["label"], "StatusCode": r["status_code"],
         "Timestamps": [_as_datetime(t) for t in r["timestamps"]],
         "Values": [float(v) for v in r["values"]]}
        for r in results], "Messages": []})


RPC_V2_OPERATIONS = {"GetMetricData": cbor_get_metric_data}


# --------------------------------------------------------------------------------------------
# Service Quotas for Fargate: moto knows only VPC quotas and has no GetAWSDefaultServiceQuota.
# GetServiceQuota answers an applied value set with POST /_fp/service-quota {"region",
# "quota_code", "value"}, else NoSuchResourceException ("If the applied quota value is not
# available for a quota, the quota is not retrieved"); GetAWSDefaultServiceQuota answers the
# defaults ListAWSDefaultServiceQuotas lists for fargate (4000 vCPUs each).
# https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
# https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetAWSDefaultServiceQuota.html
# --------------------------------------------------------------------------------------------
FARGATE_DEFAULT_QUOTAS = {"L-3032A538": ("Fargate On-Demand vCPU resource count", 4000.0),
                          "L-36FBB829": ("Fargate Spot vCPU resource count", 4000.0)}
APPLIED_QUOTAS = {}  # (region, service code, quota code) -> value


def _quota_document(region, service, code, value):
    return {"Quota": {"ServiceCode": service, "ServiceName": "AWS Fargate", "QuotaCode": code,
                      "QuotaName": FARGATE_DEFAULT_QUOTAS[code][0], "Value": value, "Unit": "None",
                      "Adjustable": True, "GlobalQuota": False,
                      "QuotaArn": f"arn:aws:servicequotas:{region}:{DEFAULT_ACCOUNT}:{service}/{code}"}}


_moto_get_service_quota = ServiceQuotasResponse.get_service_quota


def _get_service_quota(self):
    params = json.loads(self.body)
    service, code = params.get("ServiceCode"), params.get("QuotaCode")
    if service != "fargate":
        return _moto_get_service_quota(self)
    value = APPLIED_QUOTAS.get((self.region, service, code))
    if value is None or code not in FARGATE_DEFAULT_QUOTAS:
        raise NoSuchResource()
    return json.dumps(_quota_document(self.region, service, code, value))


def _get_aws_default_service_quota(self):
    params = json.loads(self.body)
    service, code = params.get("ServiceCode"), params.get("QuotaCode")
    if service != "fargate" or code not in FARGATE_DEFAULT_QUOTAS:
        raise NoSuchResource()
    return json.dumps(_quota_document(self.region, service, code, FARGATE_DEFAULT_QUOTAS[code][1]))


ServiceQuotasResponse.get_service_quota = _get_service_quota
ServiceQuotasResponse.get_aws_default_service_quota = _get_aws_default_service_quota


def set_service_quota(spec):
    APPLIED_QUOTAS[(spec["region"], "fargate", spec["quota_code"])] = float(spec["value"])
    return {"quota_code": spec["quota_code"], "value": float(spec["value"])}


AWS_CONTROLS["/_fp/service-quota"] = set_service_quota


def publish_fargate_usage(spec):
    """What Fargate itself publishes while tasks run: AWS/Usage ResourceCount for vCPUs of
    `class` (Standard/OnDemand or Standard/Spot) (ECS guide "AWS Fargate usage metrics")."""
    from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

    dimensions = [{"Name": "Service", "Value": "Fargate"}, {"Name": "Type", "Value": "Resource"},
                  {"Name": "Resource", "Value": "vCPU"},
                  {"Name": "Class", "Value": spec.get("class", "Standard/OnDemand")}]
    cloudwatch_backends[DEFAULT_ACCOUNT][spec["region"]].put_metric_data("AWS/Usage", [{
        "MetricName": "ResourceCount", "Value": float(spec["vcpus"]), "Dimensions": dimensions,
        # Usage metrics are per minute: the last complete one.
        "Timestamp": datetime.now(timezone.utc).replace(second=0, microsecond=0)
        - timedelta(minutes=1)}])
    return {"vcpus": float(spec["vcpus"])}


AWS_CONTROLS["/_fp/fargate-usage"] = publish_fargate_usage


# --------------------------------------------------------------------------------------------
# VPC Block Public Access: moto has none of its operations. The Region's mode starts `off` in
# `default-state`; ModifyVpcBlockPublicAccessOptions sets it (answered as completed at once,
# `update-complete`); CreateVpcBlockPublicAccessExclusion excludes one VPC or subnet
# (`create-complete` at once); the Describe operations answer as the EC2 API reference says
# (ExclusionIds honoured; Filters are not supported here and are refused).
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcBlockPublicAccessOptions.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcBlockPublicAccessOptions.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcBlockPublicAccessExclusion.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcBlockPublicAccessExclusions.html
# --------------------------------------------------------------------------------------------
from moto.ec2.exceptions import InvalidParameterValueError  # noqa: E402
from moto.ec2.responses import EC2Response  # noqa: E402

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
BPA_MODES = {}  # (account, region) -> (mode, state, last update)
BPA_EXCLUSIONS = {}  # (account, region) -> [exclusion dicts]


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _bpa_options_xml(self):
    mode, state, updated = BPA_MODES.get((self.current_account, self.region),
                                         ("off", "default-state", None))
    stamp = f"<lastUpdateTimestamp>{_iso(updated)}</lastUpdateTimestamp>" if updated else ""
    return (f"<vpcBlockPublicAccessOptions><awsAccountId>{self.current_account}</awsAccountId>"
            f"<awsRegion>{self.region}</awsRegion><state>{state}</state>"
            f"<internetGatewayBlockMode>{mode}</internetGatewayBlockMode>{stamp}"
            f"<managedBy>account</managedBy><exclusionsAllowed>allowed</exclusionsAllowed>"
            f"</vpcBlockPublicAccessOptions>")


def _ec2_answer(action, body):
    return (f'<{action}Response xmlns="{EC2_NS}"><requestId>{uuid.uuid4()}</requestId>'
            f"{body}</{action}Response>")


def _describe_bpa_options(self):
    return _ec2_answer("DescribeVpcBlockPublicAccessOptions", _bpa_options_xml(self))


def _modify_bpa_options(self):
    mode = self._get_param("InternetGatewayBlockMode")
    if mode not in ("off", "block-bidirectional", "block-ingress"):
        raise InvalidParameterValueError(mode)
    BPA_MODES[(self.current_account, self.region)] = (mode, "update-complete",
                                                     datetime.now(timezone.utc))
    return _ec2_answer("ModifyVpcBlockPublicAccessOptions", _bpa_options_xml(self))


def _exclusion_xml(e, tag):
    return (f"<{tag}><exclusionId>{e['id']}</exclusionId>"
            f"<internetGatewayExclusionMode>{e['mode']}</internetGatewayExclusionMode>"
            f"<resourceArn>{e['arn']}</resourceArn><state>{e['state']}</state>"
            f"<creationTimestamp>{_iso(e['created'])}</creationTimestamp>"
            f"<lastUpdateTimestamp>{_iso(e['created'])}</lastUpdateTimestamp><tagSet/></{tag}>")


def _create_bpa_exclusion(self):
    subnet, vpc = self._get_param("SubnetId"), self._get_param("VpcId")
    mode = self._get_param("InternetGatewayExclusionMode")
    if bool(subnet) == bool(vpc) or mode not in ("allow-bidirectional", "allow-egress"):
        raise InvalidParameterValueError(f"{subnet or vpc} {mode}")
    kind, resource = ("subnet", subnet) if subnet else ("vpc", vpc)
    exclusion = {"id": f"exclusion-{uuid.uuid4().hex[:17]}", "mode": mode, "state": "create-complete",
                 "arn": f"arn:aws:ec2:{self.region}:{self.current_account}:{kind}/{resource}",
                 "created": datetime.now(timezone.utc)}
    BPA_EXCLUSIONS.setdefault((self.current_account, self.region), []).append(exclusion)
    return _ec2_answer("CreateVpcBlockPublicAccessExclusion",
                       _exclusion_xml(exclusion, "vpcBlockPublicAccessExclusion"))


def _describe_bpa_exclusions(self):
    if self._get_param("Filters"):
        raise InvalidParameterValueError("Filters are not supported by this emulator")
    ids = self._get_param("ExclusionIds", [])
    found = [e for e in BPA_EXCLUSIONS.get((self.current_account, self.region), [])
             if not ids or e["id"] in ids]
    items = "".join(_exclusion_xml(e, "item") for e in found)
    return _ec2_answer("DescribeVpcBlockPublicAccessExclusions",
                       f"<vpcBlockPublicAccessExclusionSet>{items}</vpcBlockPublicAccessExclusionSet>")


EC2Response.describe_vpc_block_public_access_options = _describe_bpa_options
EC2Response.modify_vpc_block_public_access_options = _modify_bpa_options
EC2Response.create_vpc_block_public_access_exclusion = _create_bpa_exclusion
EC2Response.describe_vpc_block_public_access_exclusions = _describe_bpa_exclusions


# --------------------------------------------------------------------------------------------
# IPv6-only subnets and endpoints. moto 5.2.5 answers an IPv6 CIDR block's state as a nested
# dict and counts an IPv6-only subnet's /64 as free addresses; the EC2 API reference says
# SubnetIpv6CidrBlockAssociation.Ipv6CidrBlockState.State is `associated` and
# AvailableIpAddressCount is "the number of unused private IPv4 addresses" (none there).
# CreateVpcEndpoint drops IpAddressType and DnsOptions; VpcEndpoint returns both, and with
# neither given here the subnets' family is taken (ipv6 in IPv6-only subnets, else ipv4), and
# the DNS record type follows an ipv6 endpoint (else ipv4).
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Subnet.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SubnetCidrBlockState.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html
# --------------------------------------------------------------------------------------------
from moto.ec2.models.subnets import Subnet as _MotoSubnet  # noqa: E402
from moto.ec2.responses.vpcs import VPCs as _MotoVpcResponses  # noqa: E402


def _ipv6_associations(self):
    return [{"ipv6CidrBlock": a["ipv6CidrBlock"], "associationId": a["associationId"],
             "ipv6CidrBlockState": {"state": a["ipv6CidrBlockState"]["State"]}}
            for a in self.ipv6_cidr_block_associations.values()
            if a["ipv6CidrBlockState"]["State"] == "associated"]


_moto_available_ips = _MotoSubnet.available_ip_address_count


def _available_ipv4(self):
    return 0 if self.cidr_block is None else _moto_available_ips.fget(self)


_MotoSubnet.ipv6_cidr_block_association_set = property(_ipv6_associations)
_MotoSubnet.available_ip_address_count = property(_available_ipv4)

_moto_create_vpc_endpoint = _MotoVpcResponses.create_vpc_endpoint


def _create_vpc_endpoint(self):
    result = _moto_create_vpc_endpoint(self)
    endpoint = result.result["VpcEndpoint"]
    subnets = [self.ec2_backend.get_subnet(s) for s in self._get_param("SubnetIds", [])]
    family = "ipv6" if subnets and all(s.cidr_block is None for s in subnets) else "ipv4"
    endpoint.ip_address_type = self._get_param("IpAddressType") or family
    dns = self._get_param("DnsOptions") or {}
    endpoint.dns_options = {"DnsRecordIpType": dns.get("DnsRecordIpType") or (
        "ipv6" if endpoint.ip_address_type == "ipv6" else "ipv4")}
    return result


_MotoVpcResponses.create_vpc_endpoint = _create_vpc_endpoint


class FaultInjection:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.denied = {}  # access key id -> set of action patterns, as registered
        self.requests = {}  # access key id -> {"ec2:DescribeVpcs": count}, every AWS request
        self.throttled = {}  # access key id -> how many first calls of each action are throttled
        self.delays = {}  # access key id -> seconds every answer waits, like a real round trip
        self.arrivals = {}  # access key id -> [(seconds since the first request, action)]
        self.arrival_origin = {}  # access key id -> when its first request arrived

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in AWS_CONTROLS:
            if method != "POST":
                return self._json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            try:
                answer = AWS_CONTROLS[path](json.loads(_read_body(environ) or b"{}"))
            except (ValueError, KeyError) as exc:
                return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            return self._json(start_response, "200 OK", answer)
        if path == "/_fp/deny":
            return self._register(environ, start_response)
        if path == "/_fp/throttle":
            return self._register_throttle(environ, start_response)
        if path == "/_fp/delay":
            return self._register_delay(environ, start_response)
        if path == "/_fp/arrivals":
            key = (parse_qs(environ.get("QUERY_STRING", "")).get("access_key_id") or [""])[0]
            with self.lock:
                log = list(self.arrivals.get(key, []))
            return self._json(start_response, "200 OK", log)
        if path.startswith("/_fp/blob/"):
            with BLOBS_LOCK:
                data = BLOBS.get(path.rsplit("/", 1)[-1])
            if data is None:
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"]
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(len(data)))])
            return [data]
        if path == "/_fp/requests":
            key = (parse_qs(environ.get("QUERY_STRING", "")).get("access_key_id") or [""])[0]
            with self.lock:
                counts = dict(self.requests.get(key, {}))
            return self._json(start_response, "200 OK", counts)
        if path.rstrip("/") == "/moto-api/reset" and method == "POST":
            with self.lock:
                self.denied.clear()
                self.requests.clear()
                self.throttled.clear()
                self.delays.clear()
                self.arrivals.clear()
            with BLOBS_LOCK:
                BLOBS.clear()
        else:
            calls = self._count(environ)
            denied = self._denied_action(environ)
            if denied is not None:
                return self._deny(start_response, *denied)
            throttled = self._throttled_action(environ, calls)
            if throttled is not None:
                return self._throttle(start_response, *throttled)
            self._delay(environ)
            rpc = RPC_V2_PATH.fullmatch(path)
            if rpc and rpc.group(1) in RPC_V2_OPERATIONS:
                return RPC_V2_OPERATIONS[rpc.group(1)](environ, start_response)
        return self.app(environ, start_response)

    def _control(self, environ, start_response, apply):
        """A POST of the test-only control API: `apply` checks the JSON spec (ValueError for a
        bad one) and records it under the lock; its result is the answer."""
        if environ.get("REQUEST_METHOD") != "POST":
            return self._json(start_response, "405 Method Not Allowed", {"error": "POST only"})
        try:
            spec = json.loads(_read_body(environ) or b"{}")
            key = spec.get("access_key_id")
            if not isinstance(key, str) or not key:
                raise ValueError('expected {"access_key_id": "AKIA...", ...}')
            with self.lock:
                answer = apply(key, spec)
        except (ValueError, AttributeError) as exc:
            return self._json(start_response, "400 Bad Request", {"error": str(exc)})
        return self._json(start_response, "200 OK", {"access_key_id": key, **answer})

    def _register(self, environ, start_response):
        """POST {"access_key_id": "...", "actions": [...]}: deny those actions to that key."""
        def apply(key, spec):
            actions = _actions(spec.get("actions"))
            self.denied.setdefault(key, set()).update(actions)
            return {"actions": sorted(self.denied[key])}
        return self._control(environ, start_response, apply)

    def _register_throttle(self, environ, start_response):
        """POST {"access_key_id": "...", "first": N, "actions": [...]?}: that key's first N
        requests of every action (or of the listed ones) are throttled, as a busy account sees
        them."""
        def apply(key, spec):
            first, actions = spec.get("first"), spec.get("actions")
            if not isinstance(first, int) or first < 0:
                raise ValueError('expected "first": N')
            listed = None if actions is None else {a.lower() for a in _actions(actions)}
            self.throttled[key] = (first, listed)
            return {"first": first}
        return self._control(environ, start_response, apply)

    def _register_delay(self, environ, start_response):
        """POST {"access_key_id": "...", "ms": N}: every later answer to that key waits N ms
        (a fixed round trip), and its requests' arrival times are logged."""
        def apply(key, spec):
            ms = spec.get("ms")
            if not isinstance(ms, int) or ms < 0:
                raise ValueError('expected "ms": N')
            self.delays[key] = ms / 1000.0
            return {"ms": ms}
        return self._control(environ, start_response, apply)

    def _delay(self, environ):
        identified = self._identify(environ)
        if identified is None:
            return
        key, _, full, _ = identified
        with self.lock:
            delay = self.delays.get(key)
            if delay is None:
                return
            log = self.arrivals.setdefault(key, [])
            now = time.monotonic()
            if not log:
                self.arrival_origin[key] = now
            log.append([round(now - self.arrival_origin[key], 4), full])
        time.sleep(delay)

    def _count(self, environ):
        """The request log tests cross-check the tool's own call counts against; returns how
        many requests of this action the key has made, this one included."""
        identified = self._identify(environ)
        if identified is None:
            return 0
        key, _, full, _ = identified
        with self.lock:
            per_key = self.requests.setdefault(key, {})
            per_key[full] = per_key.get(full, 0) + 1
            return per_key[full]

    def _throttled_action(self, environ, calls):
        identified = self._identify(environ)
        if identified is None:
            return None
        key, service, full, protocol = identified
        with self.lock:
            first, actions = self.throttled.get(key, (0, None))
        if actions is not None and full.lower() not in actions:
            return None
        return (protocol, service) if calls <= first else None

    def _throttle(self, start_response, protocol, service):
        """The throttling errors of each protocol, as the API references document them:
        EC2 RequestLimitExceeded (HTTP 503, EC2 API "Error codes"), ECS/ECR
        ThrottlingException (HTTP 400, "Common Errors"), IAM and ELB Throttling (HTTP 400)."""
        request_id = str(uuid.uuid4())
        message = "Rate exceeded"
        if protocol == "cbor":
            return _cbor_answer(start_response, "400 Bad Request",
                                {"__type": "ThrottlingException", "message": message}, request_id)
        if protocol == "ec2":
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                "<Message>Request limit exceeded.</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>"
            ).encode()
            headers = [("Content-Type", "text/xml;charset=UTF-8")]
            status = "503 Service Unavailable"
        elif protocol == "json":
            body = json.dumps({"__type": "ThrottlingException", "message": message}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", "ThrottlingException"),
                ("x-amzn-RequestId", request_id),
            ]
            status = "400 Bad Request"
        else:
            xmlns = XML_NAMESPACES.get(service)
            open_tag = f'<ErrorResponse xmlns="{xmlns}">' if xmlns else "<ErrorResponse>"
            body = (
                f"{open_tag}<Error><Type>Sender</Type><Code>Throttling</Code>"
                f"<Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
            status = "400 Bad Request"
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _denied_action(self, environ):
        identified = self._identify(environ)
        if identified is None:
            return None
        key, service, full, protocol = identified
        with self.lock:
            patterns = set(self.denied.get(key, ()))
        # IAM action names match case-insensitively; `*` and `?` are wildcards.
        if any(fnmatch.fnmatchcase(full.lower(), p.lower()) for p in patterns):
            return protocol, service, full
        return None

    def _identify(self, environ):
        """(access key id, service, "service:Action", protocol) of a signed AWS request."""
        match = CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not match:
            return None
        key, service = match.group(1), match.group(2).lower()
        service = IAM_PREFIX_OF_SIGNING_NAME.get(service, service)
        target = environ.get("HTTP_X_AMZ_TARGET")
        rpc = RPC_V2_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if rpc:
            return key, service, f"{service}:{rpc.group(1)}", "cbor"
        if service == "s3":
            action = _s3_action(environ)
            return (key, service, f"s3:{action}", "s3") if action else None
        if service in REST_ROUTES:
            # REST protocols name the operation by method and path, not by a header.
            method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
            action = next((name for verb, rx, name in REST_ROUTES[service]
                           if verb == method and rx.fullmatch(path)), None)
            if not action:
                return None
            return key, service, f"{service}:{action}", "json"
        if target:
            action, protocol = target.rsplit(".", 1)[-1], "json"
        else:
            form = parse_qs(environ.get("QUERY_STRING", ""))
            if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
                form.update(parse_qs(_read_body(environ).decode("utf-8", "replace")))
            action = (form.get("Action") or [None])[0]
            protocol = "ec2" if service == "ec2" else "query"
        if not action:
            return None
        return key, service, f"{service}:{action}", protocol

    def _deny(self, start_response, protocol, service, full_action):
        request_id = str(uuid.uuid4())
        if protocol == "cbor":
            message = (f"User: {DENIED_PRINCIPAL} is not authorized to perform: {full_action} "
                       f"because no identity-based policy allows the {full_action} action")
            return _cbor_answer(start_response, "400 Bad Request",
                                {"__type": "AccessDeniedException", "message": message},
                                request_id)
        if protocol == "s3":
            # S3's REST error document; a HEAD answer carries none
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
            body = b"" if full_action == "s3:HeadObject" else (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                f"<RequestId>{request_id}</RequestId></Error>").encode()
            start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                              ("x-amz-request-id", request_id),
                                              ("Content-Length", str(len(body)))])
            return [body]
        if protocol == "ec2":
            message = (
                "You are not authorized to perform this operation. "
                f"User: {DENIED_PRINCIPAL} is not authorized to perform: {full_action}"
            )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
                f"<Message>{xml_escape(message)}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>"
            ).encode()
            headers = [("Content-Type", "text/xml;charset=UTF-8")]
            status = "403 Forbidden"
        elif protocol == "json":
            message = (
                f"User: {DENIED_PRINCIPAL} is not authorized to perform: {full_action} "
                f"because no identity-based policy allows the {full_action} action"
            )
            body = json.dumps({"__type": "AccessDeniedException", "Message": message}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", "AccessDeniedException"),
                ("x-amzn-RequestId", request_id),
            ]
            status = "400 Bad Request"
        else:
            message = (
                f"User: {DENIED_PRINCIPAL} is not authorized to perform: {full_action} "
                f"because no identity-based policy allows the {full_action} action"
            )
            xmlns = XML_NAMESPACES.get(service)
            open_tag = f'<ErrorResponse xmlns="{xmlns}">' if xmlns else "<ErrorResponse>"
            body = (
                f"{open_tag}<Error><Type>Sender</Type><Code>AccessDenied</Code>"
                f"<Message>{xml_escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
            status = "403 Forbidden"
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    @staticmethod
    def _json(start_response, status, obj):
        body = json.dumps(obj).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]


def _actions(actions):
    """A list of `service:Action` patterns, or ValueError."""
    if not isinstance(actions, list):
        raise ValueError('expected "actions": [...]')
    if not all(isinstance(a, str) and ":" in a for a in actions):
        raise ValueError("each action must look like service:Action")
    return actions


def _read_body(environ):
    """Read the request body and put it back, so moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# ThreadedMotoServer builds its DomainDispatcherApplication inside its server thread; wrap the
# application it builds there.
_MotoDispatcher = threaded_moto_server.DomainDispatcherApplication
threaded_moto_server.DomainDispatcherApplication = lambda create_app: FaultInjection(
    _MotoDispatcher(create_app)
)


# --------------------------------------------------------------------------------------------
def _wait_ready(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind, 0 = any free port")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args()
    if not args.verbose:
        # A parent that pipes our stderr without reading it must not block us.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _wait_ready(url)
    print(f"READY {url}", flush=True)

    def _stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        # Block until the parent closes our stdin (or dies).
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
