"""ICELEARNING: ice-core particle images + FlowCam shape metadata, classified by a ResNet-18 and a metadata MLP."""
