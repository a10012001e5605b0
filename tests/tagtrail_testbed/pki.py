"""The test bed's certificates come from the collector's own provisioning code."""

from tagtrail_collector.provision.pki import CertFiles, Pki

__all__ = ["CertFiles", "Pki"]
