/*
 * mock_service: fanout.feature.v1.FeatureService/GetUsage for one feature,
 * answering with deterministic data and injecting the faults that the
 * feature's profile or the call's x-mock-fault header ask for.
 */
#ifndef MOCK_SERVICE_H
#define MOCK_SERVICE_H

#include "fo_server.h"
#include "mock_profile.h"

#define MOCK_GET_USAGE_PATH "/fanout.feature.v1.FeatureService/GetUsage"

typedef struct mock_service {
    const char *feature; /* borrowed, outlives the server */
    mock_profile profile;
} mock_service;

/* Registers GetUsage on s; svc must outlive the server. */
void mock_service_register(mock_service *svc, fo_server *s);

#endif
