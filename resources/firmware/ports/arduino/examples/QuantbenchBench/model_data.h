/*
 * Replace this file with the one Quantbench exports for your model (Export > C source):
 * it defines a 16-byte aligned `model_data` array and `model_data_len`. This placeholder
 * is not a model, so the sketch reports "model is not a valid .tflite file".
 */
#ifndef MODEL_DATA_H
#define MODEL_DATA_H

alignas(16) const unsigned char model_data[16] = {0};
const unsigned int model_data_len = sizeof model_data;

#endif
